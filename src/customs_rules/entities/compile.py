"""The registry compiled at load: name keys, and the company edges that no threshold decides.

`registry load` computes these once and the store keeps them (migration 0007): each
company's name and alias keys (exact and blocking, `store.keys`), each distinct
person name's keys, the person pairs of the same-person rule (`entities.persons`), and
the company edges of roles and addresses (`role_edges`, `address_edges`). The name
threshold is applied when the snapshot is read, so a policy may change it.

Company keys are assembled by polars from what each distinct word gives (`spelling_keys`:
a registry's hundreds of thousands of spellings are a few hundred words); person names'
once per distinct name (`names.person_spelling_keys`).
"""

from __future__ import annotations

import hashlib

import polars as pl

from . import name_text, names
from .addresses import address_key_column
from .persons import normalize_ids
from .spelling_keys import company_spelling_keys

MAX_AT_ADDRESS = 20  # companies at one address that still link; more is a mass-registration address

EDGE_SCHEMA = {
    "company_key": pl.Utf8,
    "other_key": pl.Utf8,
    "kind": pl.Utf8,
    "person_pk": pl.Int64,
    "role": pl.Utf8,
}


def exact_key(spelling: str) -> str:
    return " ".join(name_text.tokens(spelling))


def address_keys(addresses: pl.Series) -> pl.Series:
    """`addresses.address_key` of each (`addresses.address_key_column`: by distinct word)."""
    return address_key_column(addresses)


def role_edges(companies: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """One edge per people row whose role is held by a company of the registry in
    another company of the registry: `company_key` (the holder) holds `role` in
    `other_key`. companies: `key`; people: `pk`, `company_key`, `holder_key`, `role`."""
    known = companies.select(pl.col("key"))
    rows = people.filter(pl.col("holder_key").is_not_null() & (pl.col("holder_key") != pl.col("company_key")))
    rows = rows.join(known, left_on="holder_key", right_on="key", how="semi")
    rows = rows.join(known, left_on="company_key", right_on="key", how="semi")
    return rows.select(
        pl.col("holder_key").alias("company_key"), pl.col("company_key").alias("other_key"),
        pl.lit("role").alias("kind"), pl.col("pk").alias("person_pk"), "role",
    ).cast(EDGE_SCHEMA).sort("person_pk")  # type: ignore[arg-type]  # fmt: skip


def address_edges(companies: pl.DataFrame) -> pl.DataFrame:
    """Each pair of companies at one address key shared by 2 to MAX_AT_ADDRESS companies,
    the earlier company (load order) first. companies: `pk`, `key`, `address_key`."""
    placed = companies.filter(pl.col("address_key").is_not_null()).select("pk", "key", "address_key")
    placed = placed.filter(pl.len().over("address_key").is_between(2, MAX_AT_ADDRESS))
    pairs = placed.join(placed, on="address_key", suffix="_other").filter(pl.col("pk") < pl.col("pk_other"))
    return pairs.sort("pk", "pk_other").select(
        pl.col("key").alias("company_key"), pl.col("key_other").alias("other_key"), pl.lit("address").alias("kind"),
        pl.lit(None, pl.Int64).alias("person_pk"), pl.lit(None, pl.Utf8).alias("role"),
    ).cast(EDGE_SCHEMA)  # type: ignore[arg-type]  # fmt: skip


KEY_SCHEMA = {"pk": pl.Int64, "key": pl.Utf8, "kind": pl.Utf8, "spelling_kind": pl.Utf8, "spelling": pl.Utf8}


def company_keys(rows: pl.DataFrame, block_spellings: bool = True) -> pl.DataFrame:
    """KEY_SCHEMA rows, in the order they are stored: per company, its id key and each
    spelling's exact key (name first, then aliases); then per company the blocking keys of
    its spellings, once each (as `store.keys.company_key_rows` gives them, less the
    repeats a search counts once anyway). rows: company_id, name, aliases, in load order.
    Without `block_spellings` the blocking keys' rows leave their spelling (and its kind)
    null: the snapshot's `blocks` (`name_frames`) keeps only their key and company."""
    # a slice of companies at a time (their keys are their own), for bounded memory: the
    # exploded spellings and blocks of a whole registry were a load's peak
    parts = [_company_keys(rows.slice(at, COMPANY_SLICE), at, block_spellings)
             for at in range(0, max(rows.height, 1), COMPANY_SLICE)]  # fmt: skip
    return pl.concat([head for head, _ in parts] + [blocks for _, blocks in parts])


COMPANY_SLICE = 25_000


def company_name_keys(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`company_keys(rows, block_spellings=False)` as `sorted_names` takes it, for a load:
    the exact rows (pk, key, spelling_kind, spelling) and the blocking keys (key, pk, each
    once), both in load order. No id rows: a load keeps each company's id key beside it
    (`normalized_ids`), and the frames the other form makes and filters were a load's peak."""
    exact, blocks = [], []
    for at in range(0, max(rows.height, 1), COMPANY_SLICE):
        head, block = _company_keys(rows.slice(at, COMPANY_SLICE), at, block_spellings=False, ids=False)
        exact.append(head.select("pk", "key", "spelling_kind", "spelling"))
        blocks.append(block.select("key", "pk"))  # once each: a slice's own, and the slices' pks differ
        del head, block
    return pl.concat(exact).cast(_EXACT), pl.concat(blocks).cast(_BLOCK)  # type: ignore[arg-type]


_EXACT = {"pk": pl.Int64, "key": pl.Utf8, "spelling_kind": pl.Utf8, "spelling": pl.Utf8}
_BLOCK = {"key": pl.Utf8, "pk": pl.Int64}


def _company_keys(
    rows: pl.DataFrame, offset: int, block_spellings: bool, ids: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`company_keys` of a slice of the companies (the first is company `offset` + 1):
    its id (unless not `ids`) and exact keys, and its blocking keys."""
    companies = rows.select(
        pl.int_range(offset + 1, offset + pl.len() + 1, dtype=pl.Int64).alias("pk"), "company_id",
        pl.concat_list(pl.col("name"), pl.col("aliases")).alias("spelling"),
    )  # fmt: skip
    spellings = companies.select("pk", "spelling").explode("spelling").with_columns(
        pl.when(pl.col("pk").is_first_distinct()).then(pl.lit("name")).otherwise(pl.lit("alias"))
        .alias("spelling_kind")
    )  # fmt: skip
    exact, blocks = company_spelling_keys(spellings["spelling"])
    exact = spellings.select("pk", exact["exact"].alias("key"), pl.lit("exact").alias("kind"), "spelling_kind",
                             "spelling")  # fmt: skip
    heads = exact  # in company order already
    if ids:
        id_rows = companies.select(
            "pk", normalized_ids(companies["company_id"]).alias("key"), pl.lit("id").alias("kind"),
            pl.lit("id").alias("spelling_kind"), pl.col("company_id").alias("spelling"),
        )  # fmt: skip
        heads = pl.concat([id_rows, exact]).sort("pk", maintain_order=True)
    # each spelling's keys sorted, spellings in order: a company's key once, from its first spelling
    spelled = spellings.with_row_index("row")
    if not block_spellings:
        spelled = spelled.select("row", "pk", pl.lit(None, pl.Utf8).alias("spelling_kind"),
                                 pl.lit(None, pl.Utf8).alias("spelling"))  # fmt: skip
    blocks = blocks.join(spelled, on="row", how="left", maintain_order="left")
    blocks = blocks.select("pk", "key", pl.lit("block").alias("kind"), "spelling_kind", "spelling")
    return heads, blocks.unique(["pk", "key"], keep="first", maintain_order=True)


def person_keys(first: pl.DataFrame) -> pl.DataFrame:
    """KEY_SCHEMA rows of distinct person names: each name's exact key, then each name's
    blocking keys. first: `pk` (the first row of the name), `person_name`, in load order."""
    spellings = first.select("pk", pl.col("person_name").alias("spelling"), pl.lit("name").alias("spelling_kind"))
    keyed = spellings.hstack(_spelling_keys(spellings["spelling"], person=True))
    exact = keyed.select("pk", pl.col("exact").alias("key"), pl.lit("exact").alias("kind"), "spelling_kind", "spelling")
    return pl.concat([exact, _blocks(keyed)])


def _spelling_keys(spellings: pl.Series, person: bool) -> pl.DataFrame:
    """`exact` and `blocks` (sorted) of each spelling, in its row (`names.spelling_keys`, or
    `names.person_spelling_keys`; computed once per distinct set of kept units)."""
    computed = names.bulk_spelling_keys(spellings.to_list(), person)
    # the lists travel as text split by polars (a list per row built from Python costs a
    # Series each): keys are letters, digits and "+", never the separator \x1f
    joined = pl.Series("blocks", ["\x1f".join(b) if b else None for _, b in computed], dtype=pl.Utf8)
    exact = pl.Series("exact", [e for e, _ in computed], dtype=pl.Utf8)
    return pl.DataFrame([exact, joined.str.split("\x1f")])


def _blocks(keyed: pl.DataFrame) -> pl.DataFrame:
    return keyed.select("pk", pl.col("blocks").alias("key"), "spelling_kind", "spelling").explode("key").select(
        "pk", "key", pl.lit("block").alias("kind"), "spelling_kind", "spelling"
    ).drop_nulls("key")  # fmt: skip


def normalized_ids(ids: pl.Series) -> pl.Series:
    """`persons.normalize_id` of each id (or the id itself)."""
    return pl.select(pl.coalesce(normalize_ids(ids), ids)).to_series()


def key_hash(key: str) -> int:
    """A name key's stable 64-bit hash (the snapshot keeps it: Python's own `hash` changes
    with every process)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little", signed=True)


def key_hashes(keys: pl.Series) -> pl.Series:
    """`key_hash` of each key (none null), the digests read by polars as little-endian
    integers (a Python int per key cost half as much again); HASH_SLICE keys at a time
    (the Python bytes of all at once were ~25 MB more at a load's peak)."""
    blake2b = hashlib.blake2b
    parts = [pl.Series([blake2b(key, digest_size=8).digest() for key in part.cast(pl.Binary).to_list()],
                       dtype=pl.Binary).bin.reinterpret(dtype=pl.Int64, endianness="little")
             for part in (keys.slice(at, HASH_SLICE) for at in range(0, len(keys), HASH_SLICE))]  # fmt: skip
    return pl.concat(parts) if parts else pl.Series(dtype=pl.Int64)


HASH_SLICE = 32_768


def _hashed(keys: pl.Series) -> tuple[pl.Series, bool]:
    """`key_hash` of each key of few distinct ones (once per distinct key), and whether no
    two distinct keys share a hash."""
    distinct = keys.unique()
    hashes = key_hashes(distinct)
    return keys.replace_strict(distinct, hashes, return_dtype=pl.Int64).alias("hash"), hashes.n_unique() == len(hashes)


def name_frames(keys: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The company keys (exact and block rows, in load order) sorted for the binary
    searches of `name_search.SpellingIndex`, as the snapshot stores them (`sorted_names`)."""
    exact = keys.filter(pl.col("kind") == "exact").select("pk", "key", "spelling_kind", "spelling")
    return sorted_names(exact, keys.filter(pl.col("kind") == "block").select("key", "pk").unique())


def sorted_names(exact: pl.DataFrame, blocks: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """`names`: the exact rows (pk, key, spelling_kind, spelling, in load order) sorted by
    the key's hash, then load order, with hash first; `by_company` lists the same rows'
    positions sorted by pk, then load order, and `company_pk` their pks. `blocks`: each
    (hash, key, pk) of the blocking keys (key, pk: each once), sorted."""
    # sorted by the hash, then load order (the row number), the numbers alone first; the
    # keys are hashed each (they are mostly distinct: the map of `_hashed` cost more)
    hashed = key_hashes(exact["key"]).alias("hash")
    order = exact.select("pk", hashed).with_row_index("order").sort("hash", maintain_order=True)
    del hashed
    by_company = (
        order.with_row_index("at")
        .sort("pk", "order")
        .select(pl.col("at").cast(pl.Int64).alias("by_company"), pl.col("pk").alias("company_pk"))
    )
    names = exact[order["order"]].select(order["hash"], "pk", "key", "spelling_kind", "spelling").hstack(by_company)
    del exact, order, by_company
    hashed, distinct = _hashed(blocks["key"])
    # a hash is one key's (no two keys share one): (hash, pk) sorts as (hash, key, pk), on numbers alone
    blocks = blocks.with_columns(hashed).sort(["hash", "pk"] if distinct else ["hash", "key", "pk"])
    return {"names": names, "blocks": blocks.select("hash", "key", pl.col("pk").cast(pl.Int64))}
