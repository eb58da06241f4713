"""History facts of a whole set, by columns: window and as-of joins in polars.

`HistoryBase` is what the set is screened against: one row per goods item of every past
declaration (the store's, read once per run by `store.history`; a batch file's own,
read by a pre-pass; the set's own), and the flags (holds, inspection findings). The
facts (`engine.history`, the plain definition, says what each one means) are computed as
of each declaration's date: joins on the party key, then filters on the dates, so only
declarations dated strictly before count, one per declaration id, never itself.

Evidence is built for findings only, by the plain definition over the rows of the
declaration's two parties (`SetHistory.detail`): the same words as the reference.

A run over many sets (a batch, rescreen, backtest) first narrows its past to what the
facts read (`HistoryBase.narrowed`): the listed-goods items, the items of import
declarations and the two earliest declarations, one revision of each. In generated
data that is about a tenth of the rows, and it is all a worker is handed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..engine import history as ref
from ..rules.history import HistorySettings
from ..rules.reference import ReferenceData
from .frames import DeclarationSet

ROWS_SCHEMA: dict[str, Any] = {
    "rank": pl.Int64,  # order of arrival: the highest rank of a declaration id is the one kept
    "declaration_id": pl.String,
    "date": pl.Date,
    "procedure": pl.String,
    "exporter_key": pl.String,
    "consignee_key": pl.String,
    "hs_code": pl.String,
    "value": pl.Float64,
}
FLAGS_SCHEMA: dict[str, Any] = {
    "declaration_id": pl.String, "date": pl.Date, "exporter_key": pl.String, "consignee_key": pl.String,
    "reason": pl.String,
}  # fmt: skip
HISTORY_KEYS = (
    "history.since", "history.exporter_first_listed_on", "history.exporter_listed_before_cutoff",
    *[f"history.{role}_listed_{what}" for role in ("exporter", "consignee")
      for what in ("recent_value", "recent_count", "baseline_value", "baseline_count", "ratio")],
    "history.consignee_split_count", "history.consignee_split_value",
    "history.exporter_prior_flags", "history.consignee_prior_flags",
)  # fmt: skip
REEXPORT = "item.history_reexport_imports"


_KEYS: dict[tuple[str | None, str], str] = {}  # (id, name) -> party key, per process: parties recur across sets
KEYS_KEPT = 300_000  # at most this many (about 40 MB); then it starts afresh


def _party_key(ident: str | None, name: str) -> str:
    key = _KEYS.get((ident, name))
    if key is None:
        if len(_KEYS) >= KEYS_KEPT:
            _KEYS.clear()
        key = _KEYS[(ident, name)] = ref.party_key(ident, name)
    return key


def forget_party_keys() -> None:
    """Let go of the party keys remembered so far (up to ~70 MB): a batch's pre-pass
    computed them all, and its sets carry them from there (`set_keys`)."""
    _KEYS.clear()


def party_keys(headers: pl.DataFrame) -> pl.DataFrame:
    """`exporter_key` and `consignee_key` of each header row (`engine.history.party_key`),
    computed once per distinct (id, name), remembered for the next sets of the process."""
    out = headers
    for role in ("exporter", "consignee"):
        pairs = headers.select(pl.col(f"{role}_id").alias("i"), pl.col(f"{role}_name").alias("n")).unique()
        keys = [_party_key(i, n) for i, n in pairs.iter_rows()]
        mapping = pairs.with_columns(pl.Series(f"{role}_key", keys, dtype=pl.String))
        out = out.join(mapping, left_on=[f"{role}_id", f"{role}_name"], right_on=["i", "n"], how="left",
                       nulls_equal=True, maintain_order="left")  # fmt: skip
    return out


def set_keys(declarations: DeclarationSet) -> pl.DataFrame:
    """`exporter_key` and `consignee_key` of each declaration of a set, in set order."""
    return party_keys(declarations.headers).select("exporter_key", "consignee_key")


def _keyed(declarations: DeclarationSet, keys: pl.DataFrame | None) -> pl.DataFrame:
    """The set's headers with their party keys: `keys` (`set_keys`) when given."""
    if keys is None:
        return party_keys(declarations.headers)
    if keys.height != len(declarations):
        raise ValueError(f"{keys.height} party keys for a set of {len(declarations)} declarations")
    return declarations.headers.with_columns(keys)


def rows_of(declarations: DeclarationSet, rank_from: int = 0, keys: pl.DataFrame | None = None) -> pl.DataFrame:
    """A set's declarations as history rows, ranked in set order from `rank_from`
    (`keys`: their party keys, when known)."""
    headers = _keyed(declarations, keys).select(
        "decl", (pl.col("decl").cast(pl.Int64) + rank_from).alias("rank"), "declaration_id", "date", "procedure",
        "exporter_key", "consignee_key",
    )  # fmt: skip
    items = declarations.items.select("decl", "hs_code", "value")
    return items.join(headers, on="decl", how="left").select(list(ROWS_SCHEMA))


@dataclass
class HistoryBase:
    """Past declarations (`rows`, ROWS_SCHEMA) and flags (`flags`, FLAGS_SCHEMA)."""

    rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ROWS_SCHEMA))
    flags: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FLAGS_SCHEMA))
    # a batch's pre-pass read every input into `rows`: its chunks are already in there
    covers_inputs: bool = False
    # read for some parties only (`store.history.read_history`): the (date, declaration_id)
    # of the store's earliest declarations, since `rows` may not hold them
    earliest: list[tuple[Any, ...]] | None = None
    narrow: bool = False  # only the rows the facts read (`narrowed`): no set can be added
    set_keys: pl.DataFrame | None = None  # the party keys of the set screened against it (`for_set`)
    # what each process builds once, shared by the copies `for_set` makes: per settings, the
    # `Prepared` frames every set joins to; "index", the kept rows and their keys for evidence
    _made: dict[Any, Any] = field(default_factory=dict)

    def with_set(self, declarations: DeclarationSet) -> HistoryBase:
        """This history and the set's own declarations (ranked after it)."""
        if self.narrow:  # a revision in the set could displace an earliest declaration it no longer has
            raise ValueError("a narrowed history takes no set: narrow the history with the set in it")
        rank = int(self.rows["rank"].max() or 0) + 1 if self.rows.height else 0  # type: ignore[arg-type]
        return HistoryBase(pl.concat([self.rows, rows_of(declarations, rank)]), self.flags, earliest=self.earliest)

    def for_set(self, declarations: DeclarationSet, keys: pl.DataFrame | None = None) -> HistoryBase:
        """What a set is screened against: this, with the set unless already in it.
        `keys`: the set's party keys (`set_keys`), when a pre-pass computed them."""
        if not self.covers_inputs:
            return self.with_set(declarations)
        return self if keys is None else dataclasses.replace(self, set_keys=keys)

    def kept(self) -> pl.DataFrame:
        """One declaration per id: the rows of its highest rank."""
        if self.narrow:
            return self.rows
        top = pl.col("rank") == pl.col("rank").max().over("declaration_id")
        return self.rows.filter(top)

    def narrowed(self, *references: ReferenceData) -> HistoryBase:
        """The same facts of any set already in this history, under these packs, from
        fewer rows: of each declaration's kept revision, its items of goods listed under
        any of the packs' `listed_goods` (what shipments count), every item of an import
        (what re-exports pair with), and the two earliest declarations (`history.since`).
        Nothing else is read by a fact or its evidence."""
        kept = self.kept()
        codes = kept.select("hs_code").unique()
        listed = [any(listed_code(r, r.history, code) for r in references) for code in codes["hs_code"]]
        codes = codes.with_columns(pl.Series("listed", listed, dtype=pl.Boolean))
        heads = kept.group_by("declaration_id").agg(pl.col("date", "procedure").first())
        earliest = heads.sort("date", "declaration_id").head(2).get_column("declaration_id")
        imports = heads.filter(pl.col("procedure") == ref.IMPORT).get_column("declaration_id")
        wanted = pl.col("listed") | pl.col("declaration_id").is_in(pl.concat([earliest, imports]).implode())
        rows = kept.join(codes, on="hs_code", how="left", maintain_order="left").filter(wanted)
        return HistoryBase(
            rows.select(list(ROWS_SCHEMA)), self.flags, self.covers_inputs, earliest=self.earliest, narrow=True
        )

    def past(self, keys: set[str]) -> dict[str, ref.PastDeclaration]:
        """The kept declarations involving these party keys, as the plain definition reads them."""
        if "index" not in self._made:
            kept = self.kept()
            number = pl.int_range(pl.len(), dtype=pl.UInt32).alias("at")
            both = [kept.select(pl.col(c).alias("key"), number) for c in ("exporter_key", "consignee_key")]
            self._made["index"] = (kept, pl.concat(both).sort("key"))
        kept, postings = self._made["index"]
        column, found_at = postings.get_column("key"), postings.get_column("at")
        at: set[int] = set()
        for key in keys:
            low, high = int(column.search_sorted(key, "left")), int(column.search_sorted(key, "right"))
            at.update(found_at.slice(low, high - low).to_list())
        rows: pl.DataFrame = kept[sorted(at)] if at else kept.clear()
        items: dict[str, list[tuple[str, float | None]]] = {}
        heads: dict[str, tuple[dt.date, str, str, str]] = {}
        for _, ident, date, procedure, exporter, consignee, hs, value in rows.iter_rows():
            items.setdefault(ident, []).append((hs, value))
            heads[ident] = (date, procedure, exporter, consignee)
        found: dict[str, ref.PastDeclaration] = {}
        for ident, (date, procedure, exporter, consignee) in heads.items():
            found[ident] = ref.PastDeclaration(ident, date, procedure, exporter, consignee, tuple(items[ident]))
        return found

    def plain(self) -> ref.PlainHistory:
        """The whole history as the per-declaration reference reads it."""
        keys = set(self.rows["exporter_key"].to_list()) | set(self.rows["consignee_key"].to_list())
        return ref.PlainHistory(self.past(keys), self.past_flags(keys))

    def past_flags(self, keys: set[str]) -> list[ref.PastFlag]:
        wanted = pl.col("exporter_key").is_in(list(keys)) | pl.col("consignee_key").is_in(list(keys))
        return [ref.PastFlag(i, d, (e, c), r) for i, d, e, c, r in self.flags.filter(wanted).iter_rows()]

    def __getstate__(self) -> dict[str, Any]:
        """Handed to a worker without what each process builds for itself."""
        return self.__dict__ | {"_made": {}}


@dataclass
class SetHistory:
    """The history facts of a set: `header` (one row per `decl`) and `items` (`decl`,
    `position`, REEXPORT), and what evidence needs."""

    header: pl.DataFrame
    items: pl.DataFrame
    base: HistoryBase
    queries: pl.DataFrame  # decl, declaration_id, date, procedure, exporter_key, consignee_key
    settings: HistorySettings
    reference: ReferenceData
    first: list[tuple[Any, ...]] = field(default_factory=list)  # (date, id): the history's two earliest

    def detail(self, decl: int, name: str, hs_code: str | None) -> Any:
        """The evidence of one history fact of one declaration (of one item's goods)."""
        _, ident, date, procedure, exporter, consignee = self.queries.row(decl)
        if name == "history.since":  # the whole history's earliest, not the parties' own
            earliest = next(((d, i) for d, i in self.first if i != ident), None)
            return ref.since_detail(earliest[1], earliest[0]) if earliest and earliest[0] < date else None
        keys = {exporter, consignee}
        past = self.base.past(keys)
        _, reexports, details = ref.history_values(
            ident, date, procedure, exporter, consignee, [hs_code] if hs_code else [], past,
            self.base.past_flags(keys), self.settings, self._listed,
        )  # fmt: skip
        if name == REEXPORT:
            return reexports[0][1] if reexports else None
        return details.get(name)

    def _listed(self, hs_code: str) -> bool:
        return listed_code(self.reference, self.settings, hs_code)


def listed_code(reference: ReferenceData, settings: HistorySettings, hs_code: str) -> bool:
    return bool(set(settings.listed_goods) & reference.lists_for(hs_code).keys())


def set_history(declarations: DeclarationSet, base: HistoryBase, reference: ReferenceData) -> SetHistory:
    """Every history fact of every declaration of the set, as of its date."""
    settings = reference.history
    queries = _keyed(declarations, base.set_keys).select(
        "decl", "declaration_id", "date", "procedure", "exporter_key", "consignee_key"
    )
    prepared = base._made.get((id(reference), settings))
    if prepared is None:
        prepared = base._made[(id(reference), settings)] = _prepare(base, reference, settings)
    shipped = prepared.shipped
    header = queries.select("decl").with_columns(_since(queries, prepared.first))
    header = header.join(_exporter_listed(queries, shipped, settings), on="decl", how="left")
    header = header.join(_consignee_listed(queries, shipped, settings), on="decl", how="left")
    header = header.join(_flags(queries, base.flags, settings), on="decl", how="left")
    zero = {n: pl.col(n).fill_null(0) for n in header.columns if n.endswith(("_count", "_value", "_flags"))}
    header = header.with_columns(pl.col("history.exporter_listed_before_cutoff").fill_null(False), **zero)
    header = header.with_columns(_money(header.get_column(n)) for n in header.columns if n.endswith("_value"))
    header = header.with_columns(
        *[_ratio(header, role, settings) for role in ("exporter", "consignee")],
        pl.col("history.since", "history.exporter_first_listed_on").dt.to_string("%Y-%m-%d"),
    )
    header = header.select("decl", *HISTORY_KEYS).sort("decl")
    items = _reexports(declarations, queries, prepared.imports, settings)
    return SetHistory(header, items, base, queries, settings, reference, prepared.first)


@dataclass(frozen=True)
class Prepared:
    """What the sets of a run join to, made once per history: the listed-goods
    declarations, the imports by goods prefix, the two earliest declarations."""

    shipped: pl.DataFrame  # declaration_id, date, exporter_key, consignee_key, listed_value
    imports: pl.DataFrame  # past_id, past_date, consignee_key, prefix
    first: list[tuple[Any, ...]]  # (date, declaration_id) of the two earliest declarations


def _prepare(base: HistoryBase, reference: ReferenceData, settings: HistorySettings) -> Prepared:
    kept = base.kept()
    codes = kept.select("hs_code").unique()
    listed = codes.with_columns(
        pl.Series("listed", [listed_code(reference, settings, c) for c in codes["hs_code"]], dtype=pl.Boolean)
    )
    kept = kept.join(listed, on="hs_code", how="left")
    decls = kept.group_by("declaration_id").agg(
        pl.col("date", "procedure", "exporter_key", "consignee_key").first(),
        pl.col("listed").any().alias("has_listed"),
        pl.col("value").filter(pl.col("listed")).fill_null(0.0).sum().alias("listed_value"),
    )
    shipped = decls.filter("has_listed").select("declaration_id", "date", "exporter_key", "consignee_key",
                                                "listed_value")  # fmt: skip
    imports = kept.filter(pl.col("procedure") == ref.IMPORT).select(
        pl.col("declaration_id").alias("past_id"), pl.col("date").alias("past_date"), "consignee_key",
        pl.col("hs_code").str.slice(0, settings.reexport_digits).alias("prefix"),
    ).unique()  # fmt: skip
    dated = decls.select("date", "declaration_id")
    if base.earliest is not None:  # the rows' own declarations replace what the store said of them
        own = set(dated["declaration_id"].to_list())
        others = [(d, i) for d, i in base.earliest if i not in own]
        dated = pl.concat([dated, pl.DataFrame(others, schema=dated.schema, orient="row")])
    first = dated.sort("date", "declaration_id").head(2).rows()
    return Prepared(shipped, imports, first)


def _since(queries: pl.DataFrame, first: list[tuple[Any, ...]]) -> pl.Series:
    """The earliest date of the history before each declaration, itself excepted: the two
    earliest (date, id) of the whole history are enough."""
    dates = [pl.lit(date, pl.Date) for date, _ in first] + [pl.lit(None, pl.Date)] * (2 - len(first))
    found = pl.when(pl.col("declaration_id") != (first[0][1] if first else None)).then(dates[0]).otherwise(dates[1])
    return queries.select(pl.when(found < pl.col("date")).then(found).alias("history.since")).to_series()


def _joined(queries: pl.DataFrame, past: pl.DataFrame, role: str) -> pl.DataFrame:
    """Each declaration beside the past ones of the same `role` party, dated before it."""
    frame = queries.select("decl", "declaration_id", "date", pl.col(f"{role}_key").alias("key")).join(
        past.rename({"declaration_id": "past_id", "date": "past_date"}), left_on="key", right_on=f"{role}_key"
    )
    return frame.filter(pl.col("past_date") < pl.col("date"), pl.col("past_id") != pl.col("declaration_id"))


def _windows(frame: pl.DataFrame, role: str, settings: HistorySettings) -> list[pl.Expr]:
    recent_from = pl.col("date") - pl.duration(days=settings.recent_days)
    baseline_from = recent_from - pl.duration(days=settings.baseline_days)
    recent = pl.col("past_date") >= recent_from
    baseline = (pl.col("past_date") >= baseline_from) & ~recent
    prefix = f"history.{role}_listed_"
    return [
        pl.col("listed_value").filter(recent).sum().alias(f"{prefix}recent_value"),
        recent.sum().cast(pl.Int64).alias(f"{prefix}recent_count"),
        pl.col("listed_value").filter(baseline).sum().alias(f"{prefix}baseline_value"),
        baseline.sum().cast(pl.Int64).alias(f"{prefix}baseline_count"),
    ]


def _exporter_listed(queries: pl.DataFrame, shipped: pl.DataFrame, settings: HistorySettings) -> pl.DataFrame:
    frame = _joined(queries, shipped, "exporter")
    return frame.group_by("decl").agg(
        pl.col("past_date").min().alias("history.exporter_first_listed_on"),
        (pl.col("past_date").min() < settings.cutoff).alias("history.exporter_listed_before_cutoff"),
        *_windows(frame, "exporter", settings),
    )


def _consignee_listed(queries: pl.DataFrame, shipped: pl.DataFrame, settings: HistorySettings) -> pl.DataFrame:
    frame = _joined(queries, shipped, "consignee")
    split = pl.col("past_date") >= pl.col("date") - pl.duration(days=settings.split_days)
    return frame.group_by("decl").agg(
        *_windows(frame, "consignee", settings),
        split.sum().cast(pl.Int64).alias("history.consignee_split_count"),
        pl.col("listed_value").filter(split).sum().alias("history.consignee_split_value"),
    )


def _money(values: pl.Series) -> pl.Series:
    """`engine.history.money` of each value (a zero is its own), once per distinct value."""
    distinct = values.filter(values != 0).unique()
    rounded = pl.Series([ref.money(v) for v in distinct.to_list()], dtype=pl.Float64)
    return values.replace_strict(distinct, rounded, default=values, return_dtype=pl.Float64)


def _ratio(header: pl.DataFrame, role: str, settings: HistorySettings) -> pl.Series:
    """`engine.history.ratio` of the values rounded to the cent (`_money`), computed in
    Python (the same float) where there is a baseline; missing elsewhere."""
    prefix = f"history.{role}_listed_"
    recent, baseline = header.get_column(f"{prefix}recent_value"), header.get_column(f"{prefix}baseline_value")
    found: list[float | None] = [None] * header.height
    for at in (baseline > 0).arg_true().to_list():
        found[at] = ref.ratio(recent[at], baseline[at], settings)
    return pl.Series(f"{prefix}ratio", found, dtype=pl.Float64)


def _flags(queries: pl.DataFrame, flags: pl.DataFrame, settings: HistorySettings) -> pl.DataFrame:
    found = queries.select("decl")
    for role in ("exporter", "consignee"):
        each = pl.concat([
            flags.select("declaration_id", "date", pl.col(column).alias("party"))
            for column in ("exporter_key", "consignee_key")
        ]).unique()  # fmt: skip
        frame = queries.select("decl", "declaration_id", "date", pl.col(f"{role}_key").alias("party")).join(
            each.rename({"declaration_id": "past_id", "date": "past_date"}), on="party"
        )
        window = pl.col("past_date") >= pl.col("date") - pl.duration(days=settings.flags_days)
        frame = frame.filter(
            pl.col("past_date") < pl.col("date"), window, pl.col("past_id") != pl.col("declaration_id")
        )
        counted = frame.group_by("decl").agg(
            pl.col("past_id").n_unique().cast(pl.Int64).alias(f"history.{role}_prior_flags")
        )
        found = found.join(counted, on="decl", how="left")
    return found


def _reexports(
    declarations: DeclarationSet, queries: pl.DataFrame, imports: pl.DataFrame, settings: HistorySettings
) -> pl.DataFrame:
    """Per item of an export or re-export: the imports into its exporter of the same
    goods (first `reexport_digits` digits) within `reexport_days` before."""
    digits = settings.reexport_digits
    items = declarations.items.select("decl", "position", pl.col("hs_code").str.slice(0, digits).alias("prefix"))
    wanted = queries.filter(pl.col("procedure").is_in(ref.EXPORTS))
    asked = items.join(wanted.select("decl", "declaration_id", "date", "exporter_key"), on="decl")
    frame = asked.join(imports, left_on=["exporter_key", "prefix"], right_on=["consignee_key", "prefix"])
    since = pl.col("date") - pl.duration(days=settings.reexport_days)
    frame = frame.filter(pl.col("past_date") < pl.col("date"), pl.col("past_date") >= since,
                         pl.col("past_id") != pl.col("declaration_id"))  # fmt: skip
    counted = frame.group_by("decl", "position").agg(pl.col("past_id").n_unique().cast(pl.Int64).alias(REEXPORT))
    out = declarations.items.select("decl", "position").join(counted, on=["decl", "position"], how="left")
    return out.with_columns(pl.col(REEXPORT).fill_null(0))
