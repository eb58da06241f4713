"""The rows of the compiled registry that a few parties can reach, read by key (issue #13).

`Store.registry_frames` reads the whole compiled registry: right for a batch or a
rescreen, far too much for one officer's submit. `entities.reach` decides what a few
parties need and asks for it here, in one read transaction (one snapshot of the
registry): companies by key, name-key rows by key or by company, block members, and the
person pairs, edges and people around some companies. They are found in the registry
snapshot's parts by key (`snapshot_lookup`: a part's key column, then the record batches
of the rows wanted), as its frames hold them; each row comes with its position in its
part (its load order), which sorts the rows read as the whole part sorts them. The rows
of companies and people are read by id from their tables (the same rows as the parts':
both are written by one load, and read here in one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
from sqlmodel import Session

from ..contract.registry_rows import WatchlistRecord
from ..entities.compile import key_hash
from .registry_db import _watchlist, driver_rows, stored_date
from .registry_load import _keys_of
from .snapshot_files import SCHEMAS
from .snapshot_lookup import AT, SnapshotLookup

# table and column names are these constants; values go through bound parameters (driver_rows)
COMPANIES_SQL = (
    "SELECT id, company_id, name, country, registered_on, activity_codes, aliases, address, address_key FROM company "
    "WHERE id IN ({marks})"
)
PEOPLE_SQL = (
    "SELECT id, company_id, person_name, role, person_id, birth_date, person_company_id FROM person "
    "WHERE id IN ({marks})"
)
PERSON_SCHEMA = {name: kind for name, kind in SCHEMAS["people"].items() if name not in ("company_key", "holder_key")}
KEY_SCHEMA = {"pk": pl.Int64, "key": pl.Utf8, "kind": pl.Utf8, "spelling_kind": pl.Utf8, "spelling": pl.Utf8}
PAIR_FIELDS = tuple(SCHEMAS["pairs"])
EDGE_FIELDS = tuple(SCHEMAS["edges"])


class RegistryPart:
    """Reads by key in one session (one transaction: `Store.registry_part`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.lookup = SnapshotLookup(session)

    def exact_rows(self, keys: Iterable[str] = (), companies: Iterable[int] = ()) -> list[tuple[Any, ...]]:
        """Exact-key rows with one of these keys or of these companies: (order, pk, key,
        kind, spelling_kind, spelling), `order` their load order (company, then spelling)."""
        wanted, pks = set(keys), set(companies)
        lookup = self.lookup
        by_company = lookup.column("names", "by_company")  # each position of `names`, in load order
        found = lookup.positions("names", "hash", {key_hash(key) for key in wanted})
        orders = by_company.is_in(pl.Series(found, dtype=pl.Int64).implode()).arg_true().to_list() if found else []
        orders += lookup.positions("names", "company_pk", pks)  # company_pk is `by_company`'s pk
        if not orders:
            return []
        at = by_company.gather(orders).to_list()
        order_of = dict(zip(at, orders, strict=True))
        rows = lookup.rows("names", at).filter(pl.col("key").is_in(list(wanted)) | pl.col("pk").is_in(list(pks)))
        rows = rows.select(AT, "pk", "key", "spelling_kind", "spelling")
        return [(order_of[n], pk, key, "exact", kind, spelling) for n, pk, key, kind, spelling in rows.rows()]

    def block_members(self, blocks: Iterable[str]) -> dict[str, set[int]]:
        """Every company of each of these blocking keys (empty when none)."""
        wanted = set(blocks)
        found: dict[str, set[int]] = {block: set() for block in wanted}
        rows = self.lookup.where("blocks", "hash", {key_hash(block) for block in wanted})
        for key, pk in rows.select("key", "pk").rows():
            if key in found:
                found[key].add(pk)
        return found

    def spelling_hashes(self, keys: Iterable[str]) -> tuple[set[int], dict[int, set[int]]]:
        """The hashes (`key_hash`) of the exact keys of every spelling of the companies
        with these keys, and those of their blocking keys with the pks of the companies
        having each: whatever finds one of those companies by name has one of them. Key
        columns only, no record batch decoded."""
        wanted = list(set(keys))
        if not wanted:
            return set(), {}
        lookup = self.lookup
        pks = lookup.column("companies", "pk").filter(lookup.column("companies", "key").is_in(wanted)).implode()
        exact = lookup.column("names", "hash").filter(lookup.column("names", "pk").is_in(pks))
        held = lookup.column("blocks", "pk").is_in(pks)
        blocks: dict[int, set[int]] = {}
        for block, pk in zip(lookup.column("blocks", "hash").filter(held).to_list(),
                             lookup.column("blocks", "pk").filter(held).to_list(), strict=True):  # fmt: skip
            blocks.setdefault(block, set()).add(pk)
        return set(exact.to_list()), blocks

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of these keys (normalised ids) that are a company's."""
        wanted = list(set(keys))
        if not wanted:
            return set()
        key = self.lookup.column("companies", "key")
        return set(key.filter(key.is_in(wanted)).to_list())

    def keys_of(self, companies: Iterable[int]) -> set[str]:
        """The keys (normalised ids) of these companies."""
        pks = set(companies)
        if not pks:
            return set()
        pk = self.lookup.column("companies", "pk")
        return set(self.lookup.column("companies", "key").filter(pk.is_in(list(pks))).to_list())

    def companies(self, keys: Iterable[str]) -> pl.DataFrame:
        """Every company with one of these keys, as the snapshot's `companies` (load order):
        found by key in the snapshot, read by id from the `company` table (an index: a few
        rows, where the part's record batches are tens of thousands)."""
        wanted = set(keys)
        if not wanted:
            return self.lookup.rows("companies", ()).drop(AT)
        key = self.lookup.column("companies", "key")
        found = dict(zip(self.lookup.column("companies", "pk").filter(key.is_in(list(wanted))).to_list(),
                         key.filter(key.is_in(list(wanted))).to_list(), strict=True))  # fmt: skip
        rows = sorted(driver_rows(self.session, COMPANIES_SQL, sorted(found)))
        data = [(r[0], *r[1:4], stored_date(r[4]), *r[5:], found[r[0]]) for r in rows]
        return pl.DataFrame(data, schema=SCHEMAS["companies"], orient="row")

    def address_counts(self, keys: Iterable[str]) -> pl.DataFrame:
        """address_key, address_companies: how many companies each of these address keys has."""
        places = self.lookup.column("companies", "address_key")
        found = places.filter(places.is_in(list(set(keys)))).value_counts(name="address_companies")
        return found.cast({"address_companies": pl.Int64})

    def first_at(self, key: str, limit: int) -> set[str]:
        """The keys of the first `limit` companies (load order) at this address key."""
        places = self.lookup.column("companies", "address_key")
        return set(self.lookup.column("companies", "key").filter(places == key).head(limit).to_list())

    def pairs(self, keys: Iterable[str]) -> list[tuple[Any, ...]]:
        """Person pairs with either company among these keys: (order, *the pairs' columns)."""
        return self._touching("pairs", "other_company_key", PAIR_FIELDS, set(keys))

    def edges(self, keys: Iterable[str]) -> list[tuple[Any, ...]]:
        """Company edges with either end among these keys: (order, *the edges' columns)."""
        return self._touching("edges", "other_key", EDGE_FIELDS, set(keys))

    def _touching(self, part: str, other: str, fields: tuple[str, ...], keys: set[str]) -> list[tuple[Any, ...]]:
        if not keys:
            return []
        return list(self.lookup.touching(part, ("company_key", other), keys).select(AT, *fields).rows())

    def people(self, pks: Iterable[int]) -> pl.DataFrame:
        """These people rows, as the snapshot's `people` (in load order), read by id from
        the `person` table."""
        rows = sorted(driver_rows(self.session, PEOPLE_SQL, sorted(set(pks))))
        frame = pl.DataFrame([(*r[:5], stored_date(r[5]), r[6]) for r in rows], schema=PERSON_SCHEMA, orient="row")
        return frame.with_columns(_keys_of(frame["company_id"]).alias("company_key"),
                                  _keys_of(frame["person_company_id"]).alias("holder_key"))  # fmt: skip

    def watchlist(self) -> list[WatchlistRecord]:
        return _watchlist(self.session)


def key_frame(rows: Iterable[tuple[Any, ...]], blocks: dict[str, set[int]]) -> pl.DataFrame:
    """Company keys as `entities.compile.name_frames` takes them: the exact rows (order
    first) once each in load order, then the block members (their spellings are not
    needed: null)."""
    exact = [row[1:] for row in sorted(set(rows))]
    members = [(pk, key, "block", None, None) for key, pks in sorted(blocks.items()) for pk in sorted(pks)]
    return pl.DataFrame(exact + members, schema=KEY_SCHEMA, orient="row")


def pair_frame(rows: Iterable[tuple[Any, ...]]) -> pl.DataFrame:
    """Person pairs (order first) once each in load order, as the snapshot's `pairs`."""
    return pl.DataFrame([row[1:] for row in sorted(set(rows))], schema=SCHEMAS["pairs"], orient="row")


def edge_frame(rows: Iterable[tuple[Any, ...]]) -> pl.DataFrame:
    """Company edges (order first) once each in load order, as the snapshot's `edges`."""
    return pl.DataFrame([row[1:] for row in sorted(set(rows))], schema=SCHEMAS["edges"], orient="row")
