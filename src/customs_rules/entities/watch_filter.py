"""Which parties of a set can be on the watchlist at all, by columns (issue #13, item 4).

`RegistryLookup.watchlisted` asks of each party its id, its company's id, then each of
its spellings (the declared name, the company's name and aliases): an exact match of the
normalised tokens, else `names.compare` against the entries sharing a blocking key. A
party none of whose ids is listed, and none of whose spellings has a listed exact key or
shares a blocking key with an entry, can have no hit; on a batch that is nearly every
party. `WatchFilter.candidates` finds the others with joins (the keys by
`spelling_keys`, the company spellings' keys from the compiled name frames), and only
those take the reference's search, which gives the answer and its words.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..contract.registry_rows import WatchlistRecord, split_list
from . import names
from .name_bound import NameBound
from .persons import normalize_id, normalize_ids
from .spelling_keys import company_spelling_keys, exact_keys

COMPANIES_KEPT = 262_144  # companies whose answer a process keeps across chunks (~100 bytes each)


class WatchFilter:
    """The watchlist's ids, exact name keys and blocking keys, and the registry's
    companies that one of those could find (by id or by a spelling's keys)."""

    def __init__(self, entries: Sequence[WatchlistRecord], companies: pl.DataFrame, name_rows: pl.DataFrame,
                 block_rows: pl.DataFrame | None, threshold: float) -> None:  # fmt: skip
        ids = {normalize_id(entry.company_id) for entry in entries if entry.company_id}
        keyed = [names.spelling_keys(entry.name) for entry in entries]  # the keys `NameIndex.add` gives
        self.ids = pl.Series("key", sorted(i for i in ids if i), dtype=pl.Utf8)
        self.exact = pl.Series("key", sorted({exact for exact, _ in keyed}), dtype=pl.Utf8)
        self.blocks = pl.Series("key", sorted({block for _, blocks in keyed for block in blocks}), dtype=pl.Utf8)
        self._companies, self._names, self._blocks = companies, name_rows, block_rows
        self._listed_companies: pl.Series | None = None
        self.bound = NameBound((entry.name for entry in entries), threshold)
        self._company_may: dict[str, bool] = {}  # per company key: may one of its spellings match?

    def listed_companies(self) -> pl.Series:
        """The keys of the companies whose id is listed, or one of whose spellings has a
        listed exact key or a blocking key of an entry (computed once per registry)."""
        if self._listed_companies is None and not self._companies.height:
            self._listed_companies = pl.Series("key", [], dtype=pl.Utf8)  # no company (nor a typed column)
        if self._listed_companies is None and self._blocks is None:
            self._listed_companies = self._keyed_companies()
        if self._listed_companies is None:
            assert self._blocks is not None
            pks = pl.concat([
                self._names.filter(pl.col("key").is_in(self.exact.implode())).get_column("pk"),
                self._blocks.filter(pl.col("key").is_in(self.blocks.implode())).get_column("pk"),
            ]).cast(pl.Int64)  # fmt: skip
            companies = self._companies.select(pl.col("pk").cast(pl.Int64), "key")
            found = companies.filter(pl.col("pk").is_in(pks.implode()) | pl.col("key").is_in(self.ids.implode()))
            self._listed_companies = found.get_column("key").unique()
        return self._listed_companies

    def _keyed_companies(self) -> pl.Series:
        """`listed_companies` of a registry whose key frames do not hold every company's
        blocking keys (a submission's part of the registry, `reach`): from the companies'
        own spellings, keyed one by one (a part holds a few companies)."""
        exact, blocks, ids = set(self.exact.to_list()), set(self.blocks.to_list()), set(self.ids.to_list())
        found = []
        for key, name, aliases in self._companies.select("key", "name", "aliases").iter_rows():
            keyed = [names.spelling_keys(spelling) for spelling in [name, *split_list(aliases)]]
            if key in ids or any(e in exact or not blocks.isdisjoint(b) for e, b in keyed):
                found.append(key)
        return pl.Series("key", found, dtype=pl.Utf8)

    def candidates(self, parties: pl.DataFrame) -> pl.Series:
        """Per row of `parties` (id, name, company_key): whether the reference's search may
        find it on the watchlist (False: it cannot). A name sharing a key with an entry,
        or a company one of whose spellings does, is asked of `NameBound` too."""
        by_id = normalize_ids(parties["id"]).is_in(self.ids.implode()).fill_null(False)
        exact, blocks = company_spelling_keys(parties["name"])
        by_exact = exact.get_column("exact").is_in(self.exact.implode()).fill_null(False)
        rows = blocks.filter(pl.col("key").is_in(self.blocks.implode())).get_column("row").unique()
        by_block = pl.int_range(parties.height, dtype=pl.UInt32, eager=True).is_in(rows.cast(pl.UInt32).implode())
        by_name = by_exact | self._bounded(parties["name"], exact.get_column("exact"), by_block & ~by_exact)
        keyed = parties["company_key"].is_in(self.listed_companies().implode()).fill_null(False)
        by_company = self._bounded_companies(parties["company_key"], keyed & ~by_id & ~by_name)
        return (by_id | by_name | by_company).alias("candidate")

    def _bounded(self, spellings: pl.Series, exact: pl.Series, asked: pl.Series) -> pl.Series:
        """`asked`, less the spellings `NameBound` rules out."""
        asked = asked.fill_null(False)
        may = self.bound.may_match_column(spellings.filter(asked), exact.filter(asked))
        out = pl.repeat(False, asked.len(), dtype=pl.Boolean, eager=True)
        return out.scatter(asked.arg_true(), may) if may.len() else out

    def _spellings(self, keys: list[str]) -> pl.DataFrame:
        """(key, spelling, exact) of each spelling of these companies (name, then aliases):
        the compiled name rows hold them with their exact keys, but for a partial registry."""
        if self._blocks is not None:
            pks = self._companies.filter(pl.col("key").is_in(keys)).select(pl.col("pk").cast(pl.Int64), "key")
            rows = self._names.select(pl.col("pk").cast(pl.Int64), "spelling", pl.col("key").alias("exact"))
            return rows.join(pks, on="pk").select("key", "spelling", "exact")
        rows = self._companies.filter(pl.col("key").is_in(keys)).select("key", "name", "aliases")
        spelt = [(key, s) for key, name, aliases in rows.iter_rows() for s in [name, *split_list(aliases)]]
        frame = pl.DataFrame(spelt, schema={"key": pl.Utf8, "spelling": pl.Utf8}, orient="row")
        return frame.with_columns(exact_keys(frame["spelling"]).alias("exact"))

    def _bounded_companies(self, keys: pl.Series, asked: pl.Series) -> pl.Series:
        """`asked`, less the companies whose id is not listed and none of whose
        spellings `NameBound` lets through (answered once per company)."""
        wanted = keys.filter(asked).unique().to_list()
        new = [key for key in wanted if key not in self._company_may]
        if len(self._company_may) + len(new) > COMPANIES_KEPT:
            self._company_may = {key: self._company_may[key] for key in wanted if key in self._company_may}
        if new:
            spelt = self._spellings(new)
            spelt = spelt.select("key", self.bound.may_match_column(spelt["spelling"], spelt["exact"]))
            ids = set(self.ids.to_list())
            for key, may_match in spelt.group_by("key").agg(pl.col("may").any()).iter_rows():
                self._company_may[key] = key in ids or may_match
        may = self._company_may
        return pl.Series([bool(a) and may.get(k, True) for k, a in zip(keys.to_list(), asked.to_list(), strict=True)],
                         dtype=pl.Boolean)  # fmt: skip
