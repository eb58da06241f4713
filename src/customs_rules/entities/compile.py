"""The registry compiled at load: name keys, and the company edges that no threshold decides.

`registry load` computes these once and the store keeps them (migration 0007): each
company's name and alias keys (exact and blocking, `storage.keys`), each distinct
person name's keys, the person pairs of the same-person rule (`entities.persons`), and
the company edges of roles and addresses (`role_edges`, `address_edges`). The name
threshold is applied when the snapshot is read, so a policy may change it.

Keys are computed once per distinct spelling left by stripping legal forms (`names.spelling_keys`):
registries repeat names a lot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

from .. import names
from ..addresses import address_key

MAX_AT_ADDRESS = 20  # companies at one address that still link; more is a mass-registration address

EDGE_SCHEMA = {
    "company_key": pl.Utf8,
    "other_key": pl.Utf8,
    "kind": pl.Utf8,
    "person_pk": pl.Int64,
    "role": pl.Utf8,
}


def exact_key(spelling: str) -> str:
    return " ".join(names.tokens(spelling))


def address_keys(addresses: Iterable[str | None]) -> list[str | None]:
    """`addresses.address_key` of each, computed once per distinct address."""
    known: dict[str | None, str | None] = {}
    out = []
    for address in addresses:
        if address not in known:
            known[address] = address_key(address)
        out.append(known[address])
    return out


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


def company_keys(rows: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Per company: its id key, each spelling's exact key (name first, then aliases), and
    its blocking keys once each (as `storage.keys.company_key_rows` gives them, less the
    repeats a search counts once anyway)."""
    blocks: list[tuple[Any, ...]] = []
    for pk, (company_id, name, aliases) in enumerate(rows.select("company_id", "name", "aliases").iter_rows(), 1):
        yield pk, _normalize_id(company_id) or company_id, "id", "id", company_id
        seen: set[str] = set()
        for kind, spelling in [("name", name), *(("alias", a) for a in aliases)]:
            exact, spelling_blocks = names.spelling_keys(spelling)
            yield pk, exact, "exact", kind, spelling
            for block in spelling_blocks:
                if block not in seen:
                    seen.add(block)
                    blocks.append((pk, block, "block", kind, spelling))
    yield from blocks


def _normalize_id(value: str) -> str | None:
    from ..registry import normalize_id

    return normalize_id(value)
