"""A chunk of input: whole declarations as columns, the rejections, and their order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..screening.frames import DeclarationSet
from .parsing import Parsed, RawRecord, Rejected


@dataclass
class Chunk:
    """Whole, valid declarations (`declarations`, in output order) and the rejections of
    the same part of the input. `rejected_before[k]` says where rejection k comes out:
    before declaration `rejected_before[k]` of the set (its length: after them all).
    Decisions and rejections come out in the order the record-by-record reader hands them
    on (`outcomes`): for a batch CSV, the order of each declaration's last row."""

    declarations: DeclarationSet
    rejected: list[Rejected] = field(default_factory=list)
    rejected_before: list[int] = field(default_factory=list)
    # the history's party keys of its declarations (`exporter_key`, `consignee_key`) and the
    # parties' name keys (`screening.history.NAME_KEYS`), when a batch's pre-pass computed
    # them (`workflow.batch.Spool`); None: computed when screened
    party_keys: Any = None

    def __len__(self) -> int:
        return len(self.declarations) + len(self.rejected)

    def outcomes(self) -> Iterator[int | Rejected]:
        """Each declaration's position in the set, or a rejection, in output order."""
        pending = iter(zip(self.rejected_before, self.rejected, strict=True))
        nxt = next(pending, None)
        for position in range(len(self.declarations)):
            while nxt is not None and nxt[0] <= position:
                yield nxt[1]
                nxt = next(pending, None)
            yield position
        while nxt is not None:
            yield nxt[1]
            nxt = next(pending, None)

    def records(self) -> Iterator[Parsed | Rejected]:
        """The record-by-record view (one pydantic object per declaration: for callers of
        today's path and for tests, not for the screening core)."""
        decls = list(self.declarations.declarations())
        locations = self.declarations.locations()
        lines = self.declarations.headers["lines"].to_list()
        for outcome in self.outcomes():
            if isinstance(outcome, Rejected):
                yield outcome
            else:
                yield Parsed(decls[outcome], locations[outcome], lines[outcome])


def from_records(records: Iterable[Parsed | Rejected]) -> Chunk:
    """A chunk of what the record-by-record reader made (JSON, JSON Lines, the exact path)."""
    parsed: list[Parsed] = []
    rejected: list[Rejected] = []
    before: list[int] = []
    for record in records:
        if isinstance(record, Parsed):
            parsed.append(record)
        else:
            rejected.append(record)
            before.append(len(parsed))
    declarations = DeclarationSet.from_declarations(
        [p.declaration for p in parsed], [p.location for p in parsed], [p.lines for p in parsed]
    )
    return Chunk(declarations, rejected, before)


def exact_chunks(records: Iterable[RawRecord | Rejected], size: int) -> Iterator[Chunk]:
    """Chunks of `size` records, each validated by the models."""
    batch: list[Parsed | Rejected] = []
    for record in records:
        batch.append(record.parse() if isinstance(record, RawRecord) else record)
        if len(batch) >= size:
            yield from_records(batch)
            batch = []
    if batch:
        yield from_records(batch)
