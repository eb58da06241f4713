"""Errors that carry a location, so users see what is wrong and where.

Every stage raises or collects `LocatedError`s; the CLI turns them into messages and
documented exit codes. Modelled on pySigma: errors carry a location, and parsers can
collect all of them instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """Where something is: a file (or `<stdin>`), a line or a record index, a field."""

    source: str = ""
    line: int | None = None
    record: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.source or "<input>"]
        if self.line is not None:
            parts[0] += f":{self.line}"
        if self.record is not None:  # a record of a JSON list: several may share a line
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)


@dataclass(frozen=True)
class LocatedError:
    """One problem at one place."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CustomsRulesError(Exception):
    """Base of the library's own errors; `hint` tells the user what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class ErrorList(CustomsRulesError):
    """A collection of located errors, raised as one when a whole unit is refused."""

    what: str
    errors: list[LocatedError] = field(default_factory=list)
    hint_text: str | None = None

    def __post_init__(self) -> None:
        CustomsRulesError.__init__(self, self.what, self.hint_text)

    def __str__(self) -> str:
        lines = [f"{self.what} ({len(self.errors)} error{'s' if len(self.errors) != 1 else ''}):"]
        lines += [f"  {e}" for e in self.errors]
        return "\n".join(lines)


class InputError(ErrorList):
    """Bad user input (declarations, registry files): exit code 2."""

    exit_code = 2


class RuleError(ErrorList):
    """A broken rule pack: exit code 2, and nothing is evaluated."""

    exit_code = 2


class StorageError(CustomsRulesError):
    """The database could not be opened or written; `detail`: the database's own words."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, detail: str = "") -> None:
        super().__init__(message, hint)
        self.detail = detail


LOAD_HINT = (
    "load one first: customs-rules registry load --companies companies.csv --people people.csv "
    "--watchlist watchlist.csv (or pass --no-registry to screen without one, marked as such)"
)


class RegistryMissingError(CustomsRulesError):
    """Screening refused: no registry is loaded, so every party would be unknown and the
    watchlist and linked-party rules could not fire (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str = "no registry is loaded: every party would be unknown, and the watchlist "
                 "and linked-party rules could not fire") -> None:  # fmt: skip
        super().__init__(message, LOAD_HINT)


class PackError(CustomsRulesError):
    """A rule-pack publication step refused: an unknown pack, one not proposed, content
    already proposed or active, a bad backtest summary (exit code 2, nothing stored)."""

    exit_code = 2


class FourEyesError(PackError):
    """`rules approve` by the officer who proposed the pack: refused (exit code 3)."""

    exit_code = 3
