"""Publishing rule packs with four eyes: one officer publishes a pack (validated, its
examples run) as proposed, another approves it into the pack every post on the
database screens with (`screener.pack_in_force`); `diff` says what a pack changes.

    from customs_rules.workflow import publishing

    proposed = publishing.publish(store, Path("candidate/"), "kz-042", note="drones: score 120")
    publishing.approve(store, str(proposed.number), "kz-007")   # FourEyesError for kz-042
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..contract.errors import LocatedError, Location, PackError, RuleError
from ..contract.input_text import given_text
from ..engine.examples import run_examples
from ..rules.diff import PackDiff, diff_packs
from ..rules.loader import load_pack
from ..rules.model import RulePack
from ..rules.packs import pack_from_contents, read_backtest
from ..store import Store
from ..store.pack_rows import PROPOSED, PackVersion
from .screener import default_rules_dir

REFERENCE_HINT = (
    "name a pack by its number (3 or '#3'), its version (sha256:, at least 8 hex digits), 'active', 'bundled', "
    "or a rules folder"
)


def publish(
    store: Store, directory: Path, officer: str, note: str | None = None, backtest: Path | None = None
) -> PackVersion:
    """Validate the pack in `directory` (every error, located: RuleError) and run its
    examples (a failing one refuses it too), read the backtest summary if given, and
    store the pack as proposed. Nothing is stored when anything is refused."""
    pack = load_pack(directory)
    failed = [r for r in run_examples(pack) if not r.passed]
    if failed:
        errors = [LocatedError(Location(r.rule.source, r.example.line, field="examples"), _failure(r.describe()))
                  for r in failed]  # fmt: skip
        raise RuleError(
            f"rule pack {directory}: {len(failed)} example(s) fail; nothing was stored",
            errors,
            f"customs-rules rules test --rules {directory} runs them",
        )
    summary = read_backtest(backtest, pack.version) if backtest is not None else None
    note = given_text(note, "--note") if note else None
    return store.publish_pack(pack.version, pack.contents, officer, note, str(directory), summary)


def _failure(described: str) -> str:
    # "file:line: rule X should fire but did not": the location is the error's own
    return described.split(": ", 1)[1] if ": " in described else described


def approve(store: Store, ref: str, officer: str, note: str | None = None) -> tuple[PackVersion, int | None]:
    """Make a proposed pack active, by an officer other than its proposer. Its stored
    files are loaded and validated first, by this version of customs-rules: a pack that
    would not load is never made active. Returns the pack, and the number of the pack it
    superseded (None when none was active)."""
    proposed = store.find_pack(ref)
    if proposed.status == PROPOSED and proposed.contents is not None:  # else the store says why it cannot be
        pack_from_contents(proposed.contents, f"pack-{proposed.number}", proposed.version)
    note = given_text(note, "--note") if note else None
    return store.approve_pack(ref, officer, note, proposed.version)


def reject(store: Store, ref: str, officer: str, note: str | None = None) -> PackVersion:
    """Refuse a proposed pack, or withdraw one's own: it can no longer be approved."""
    return store.reject_pack(ref, officer, given_text(note, "--note") if note else None)


@dataclass(frozen=True)
class NamedPack:
    label: str  # "#3", "active (#3)", "bundled", "folder candidate/", "sha256:..."
    pack: RulePack


def named_pack(store: Store | None, ref: str) -> NamedPack:
    """A pack named as `rules diff` takes it: `active`, `bundled`, a publication number
    (`3`, `#3`), a stored version (`sha256:` and at least 8 hex digits), or a folder. A
    number that is also a folder is refused as ambiguous (write `./3`)."""
    given = ref.strip()
    word = given.lower()
    if word == "bundled":
        return NamedPack("bundled", load_pack(default_rules_dir()))
    if word == "active":
        active = store.active_pack() if store is not None else None
        if active is None or active.contents is None:
            raise PackError("no pack is active on this database: commands use the bundled pack", REFERENCE_HINT)
        return NamedPack(f"active ({active.label})", _loaded(active))
    path = Path(given)
    numbered = given.lstrip("#").isdigit()
    if numbered and path.is_dir() and not given.startswith("#"):
        raise PackError(f"{given!r} is both a pack number and a folder: write '#{given}' or ./{given}")
    if path.is_dir() and not numbered:
        return NamedPack(f"folder {given}", load_pack(path))
    if store is None:
        raise PackError(f"{given!r} is no folder, and there is no database to find a pack in", REFERENCE_HINT)
    if numbered:
        return NamedPack(f"#{int(given.lstrip('#'))}", _loaded(store.find_pack(given)))
    stored = store.stored_ruleset(given)
    if stored is None:
        raise PackError(f"{given!r} names no pack, stored rule set or folder", REFERENCE_HINT)
    version, contents = stored
    return NamedPack(version[:19] + "…", pack_from_contents(contents, "stored", version))


def _loaded(found: PackVersion) -> RulePack:
    assert found.contents is not None
    return pack_from_contents(found.contents, f"pack-{found.number}", found.version)


def diff(store: Store | None, old: str, new: str) -> tuple[NamedPack, NamedPack, PackDiff]:
    one, other = named_pack(store, old), named_pack(store, new)
    return one, other, diff_packs(one.pack, other.pack)
