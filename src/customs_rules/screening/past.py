"""A batch's past narrowed as it is read: `NarrowingPast`.

A batch's pre-pass reads every declaration of its inputs into the past its sets are
screened against, then narrows it to the rows the facts read (`HistoryBase.narrowed`).
Holding every row until the end made the pre-pass the peak of the whole run, growing
with the input (~500 MB for 1M lines, before narrowing). `NarrowingPast` gives the same
narrowed past from a set at a time, holding only:

- the rows that may be kept: items of listed goods and every item of an import, of any
  revision (whether a revision is the one kept is known at the end);
- one head per declaration revision: (declaration_id, rank, date), ~50 bytes;
- where each set's rows can be had again (`again`): at the end, the rows of the two
  earliest declarations (`history.since`) are taken from there, since any revision
  read later could change which two those are.

The rows come out in the order `narrowed` gives them (the order they were added).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from ..engine import history as ref
from ..rules.reference import ReferenceData
from .history import ROWS_SCHEMA, HistoryBase, listed_code

SEQ = "_seq"  # each row's place in the order the rows were added
HEAD = ("declaration_id", "rank", "date")  # a revision (a rank is a store's revision number, or a place in the input)


@dataclass(frozen=True)
class _Source:
    """A set's rows as added: their ranks, their first place, how to have them again."""

    first_rank: int
    last_rank: int
    first_seq: int
    again: Callable[[], pl.DataFrame]


class NarrowingPast:
    """`HistoryBase(base rows + every set added).narrowed(*references)`, built a set at a time."""

    def __init__(self, base: HistoryBase, references: Sequence[ReferenceData]) -> None:
        self.base = base
        self.references = references
        self._listed: dict[str, bool] = {}  # per hs code: listed under any of the packs' lists
        self._rows: list[pl.DataFrame] = []
        self._heads: list[pl.DataFrame] = []
        self._sources: list[_Source] = []
        self._seq = 0
        rows = base.rows
        self.add(rows, lambda: rows)
        self._from_base = len(self._heads)
        self.repeated: set[str] = set()  # ids added more than once after the base's, known once `finish` ran

    def add(self, rows: pl.DataFrame, again: Callable[[], pl.DataFrame]) -> None:
        """The rows of a set (ROWS_SCHEMA, ranked after any added before), and a function
        that gives the same rows again."""
        if not rows.height:
            return
        numbered = rows.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(SEQ) + self._seq)
        wanted = self._listed_of(rows.get_column("hs_code")) | (pl.col("procedure") == ref.IMPORT)
        self._rows.append(numbered.filter(wanted))
        self._heads.append(rows.select(*HEAD).unique(["declaration_id", "rank"], maintain_order=True))
        ranks = rows.get_column("rank")
        self._sources.append(_Source(int(ranks.min()), int(ranks.max()), self._seq, again))  # type: ignore[arg-type]
        self._seq += rows.height

    def _listed_of(self, codes: pl.Series) -> pl.Series:
        """Whether each code is listed (null when the code is: `narrowed` keeps such a row
        only for its declaration)."""
        mapping = {}  # this chunk's codes only: the whole memo would make each chunk cost more
        for code in codes.unique().to_list():
            if code is None:
                continue
            listed = self._listed.get(code)
            if listed is None:
                listed = self._listed[code] = any(listed_code(r, r.history, code) for r in self.references)
            mapping[code] = listed
        return codes.replace_strict(mapping, default=None, return_dtype=pl.Boolean)

    def finish(self) -> HistoryBase:
        """The narrowed past (`narrow`, covering the inputs)."""
        empty = pl.DataFrame(schema={n: ROWS_SCHEMA[n] for n in HEAD})
        heads = pl.concat([*self._heads, empty])
        inputs_from = sum(h.height for h in self._heads[: self._from_base])  # the base's heads come first
        self._heads = []
        stale, self.repeated = _stale(heads, inputs_from)
        kept = heads.join(stale, on=["declaration_id", "rank"], how="anti")  # each id's last revision
        earliest = kept.bottom_k(2, by=["date", "declaration_id"]).sort("date", "declaration_id")
        del heads, kept
        # the rows of stale revisions go: one join of all the rows kept, against the few stale ones
        parts = [pl.concat(self._rows).join(stale, on=["declaration_id", "rank"], how="anti")] if self._rows else []
        parts += [self._again(ident, rank) for ident, rank in earliest.select("declaration_id", "rank").rows()]
        self._rows = []
        schema = {**ROWS_SCHEMA, SEQ: pl.Int64}
        rows = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
        rows = rows.unique(SEQ).sort(SEQ).select(list(ROWS_SCHEMA))
        base = self.base
        return HistoryBase(rows, base.flags, covers_inputs=True, earliest=base.earliest, narrow=True)

    def _again(self, ident: str, rank: int) -> pl.DataFrame:
        """Every row of this revision, numbered as when added."""
        source = next(s for s in self._sources if s.first_rank <= rank <= s.last_rank)
        rows = source.again()
        numbered = rows.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(SEQ) + source.first_seq)
        return numbered.filter((pl.col("declaration_id") == ident) & (pl.col("rank") == rank))


def _stale(heads: pl.DataFrame, inputs_from: int) -> tuple[pl.DataFrame, set[str]]:
    """The revisions (declaration_id, rank) that a later revision of the same id replaces,
    and the ids that the heads from row `inputs_from` on (the inputs') hold more than once.

    Ids seldom repeat, so the ids are first compared by a 64-bit hash (a table of integers:
    grouping 1.4M ids as text peaked the pre-pass of the 3M-line benchmark ~280 MB higher),
    then the few that share a hash by their text (a collision makes no false repeat)."""
    hashed = pl.col("declaration_id").hash(_SEED)
    shared = heads.with_row_index("_at").filter(hashed.is_duplicated())
    same = pl.col("declaration_id").is_duplicated()
    revisions = shared.filter(same).with_columns(pl.col("rank").max().over("declaration_id").alias("_last"))
    stale = revisions.filter(pl.col("rank") < pl.col("_last")).select("declaration_id", "rank")
    repeated = shared.filter(pl.col("_at") >= inputs_from).filter(same).get_column("declaration_id")
    return stale, set(repeated.to_list())


_SEED = 20261208  # any: the same for every id of one call
