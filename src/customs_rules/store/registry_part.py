"""The rows of the compiled registry that a few parties can reach, read by key (issue #13).

`Store.registry_frames` reads the whole compiled registry: seconds at 100k companies,
right for a batch or a rescreen, far too long for one officer's submit.
`entities.reach` decides what a few parties need and asks for it here, in one read
transaction (one snapshot of the registry): companies by key, name-key rows by key or by
company, block members, and the person pairs, edges and people around some companies.
Frames have the columns and types of `registry_load`'s full reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
from sqlmodel import Session, select

from ..contract.registry_rows import WatchlistRecord
from . import registry_load as full
from .registry_db import COMPANY, _watchlist, driver_rows

# table and column names are these constants; values go through bound parameters (driver_rows)
KEY_ROW = "SELECT id, company_pk, key, kind, spelling_kind, spelling FROM company_key"
EXACT_BY_KEY_SQL = f"{KEY_ROW} WHERE kind = 'exact' AND key IN ({{marks}})"
EXACT_BY_COMPANY_SQL = f"{KEY_ROW} WHERE kind = 'exact' AND company_pk IN ({{marks}})"
BLOCKS_SQL = "SELECT DISTINCT key, company_pk FROM company_key WHERE kind = 'block' AND key IN ({marks})"
KEYS_OF_SQL = "SELECT DISTINCT key FROM company_key WHERE kind = 'id' AND company_pk IN ({marks})"
COMPANIES_SQL = (
    "SELECT c.id, c.company_id, c.name, c.country, c.registered_on, c.activity_codes, c.aliases, c.address, "
    "c.address_key, k.key FROM company c JOIN company_key k ON k.company_pk = c.id AND k.kind = 'id' "
    "WHERE k.key IN ({marks})"
)
ADDRESS_COUNT_SQL = "SELECT address_key, COUNT(*) FROM company WHERE address_key IN ({marks}) GROUP BY address_key"
PAIR_ROW = f"SELECT id, {', '.join(full.PAIR_COLUMNS)} FROM person_pair"
PAIRS_SQL = (f"{PAIR_ROW} WHERE company_key IN ({{marks}})", f"{PAIR_ROW} WHERE other_company_key IN ({{marks}})")
EDGE_ROW = f"SELECT id, {', '.join(full.EDGE_COLUMNS)} FROM company_edge"
EDGES_SQL = (f"{EDGE_ROW} WHERE company_key IN ({{marks}})", f"{EDGE_ROW} WHERE other_key IN ({{marks}})")
PEOPLE_SQL = (
    "SELECT id, company_id, person_name, role, person_id, birth_date, person_company_id FROM person "
    "WHERE id IN ({marks})"
)
KEY_SCHEMA = {"pk": pl.Int64, "key": pl.Utf8, "kind": pl.Utf8, "spelling_kind": pl.Utf8, "spelling": pl.Utf8}


class RegistryPart:
    """Reads by key in one session (one transaction: `Store.registry_part`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _rows(self, sql: str, values: Iterable[Any]) -> list[tuple[Any, ...]]:
        wanted = sorted(set(values))
        return list(driver_rows(self.session, sql, wanted)) if wanted else []

    def exact_rows(self, keys: Iterable[str] = (), companies: Iterable[int] = ()) -> list[tuple[Any, ...]]:
        """company_key rows of kind exact with one of these keys or of these companies:
        (id, pk, key, kind, spelling_kind, spelling), the row id first (load order)."""
        return self._rows(EXACT_BY_KEY_SQL, keys) + self._rows(EXACT_BY_COMPANY_SQL, companies)

    def block_members(self, blocks: Iterable[str]) -> dict[str, set[int]]:
        """Every company of each of these blocking keys (empty when none)."""
        wanted = set(blocks)
        found: dict[str, set[int]] = {block: set() for block in wanted}
        for key, pk in self._rows(BLOCKS_SQL, wanted):
            found[key].add(pk)
        return found

    def keys_of(self, companies: Iterable[int]) -> set[str]:
        """The keys (normalised ids) of these companies."""
        return {key for (key,) in self._rows(KEYS_OF_SQL, companies)}

    def companies(self, keys: Iterable[str]) -> pl.DataFrame:
        """Every company with one of these keys, as `registry_load.read_companies` (in load order)."""
        rows = sorted(self._rows(COMPANIES_SQL, keys))
        data = [(r[0], *r[1:4], full._date(r[4]), *r[5:]) for r in rows]
        return pl.DataFrame(data, schema=full.COMPANY_SCHEMA | {"key": pl.Utf8}, orient="row")

    def address_counts(self, keys: Iterable[str]) -> pl.DataFrame:
        """address_key, address_companies: how many companies each of these address keys has."""
        rows = self._rows(ADDRESS_COUNT_SQL, keys)
        return pl.DataFrame(rows, schema={"address_key": pl.Utf8, "address_companies": pl.Int64}, orient="row")

    def first_at(self, key: str, limit: int) -> set[str]:
        """The keys of the first `limit` companies (load order) at this address key."""
        query = select(COMPANY.c.id).where(COMPANY.c.address_key == key).order_by(COMPANY.c.id).limit(limit)
        return self.keys_of(pk for (pk,) in self.session.execute(query))

    def pairs(self, keys: Iterable[str]) -> list[tuple[Any, ...]]:
        """person_pair rows with either company among these keys: (id, *PAIR_COLUMNS)."""
        keys = set(keys)
        return self._rows(PAIRS_SQL[0], keys) + self._rows(PAIRS_SQL[1], keys)

    def edges(self, keys: Iterable[str]) -> list[tuple[Any, ...]]:
        """company_edge rows with either end among these keys: (id, *EDGE_COLUMNS)."""
        keys = set(keys)
        return self._rows(EDGES_SQL[0], keys) + self._rows(EDGES_SQL[1], keys)

    def people(self, pks: Iterable[int]) -> pl.DataFrame:
        """These people rows, as `registry_load.read_people` (in load order)."""
        rows = sorted(self._rows(PEOPLE_SQL, pks))
        frame = pl.DataFrame([(*r[:5], full._date(r[5]), r[6]) for r in rows], schema=full.PEOPLE_SCHEMA, orient="row")
        return frame.with_columns(
            full._keys_of(frame["company_id"]).alias("company_key"),
            full._keys_of(frame["person_company_id"]).alias("holder_key"),
        )

    def watchlist(self) -> list[WatchlistRecord]:
        return _watchlist(self.session)


def key_frame(rows: Iterable[tuple[Any, ...]], blocks: dict[str, set[int]]) -> pl.DataFrame:
    """company_keys as `registry_load.read_company_keys`: the exact rows (id first) once
    each in id order, then the block members (their spellings are not needed: null)."""
    exact = [row[1:] for row in sorted(set(rows))]
    members = [(pk, key, "block", None, None) for key, pks in sorted(blocks.items()) for pk in sorted(pks)]
    return pl.DataFrame(exact + members, schema=KEY_SCHEMA, orient="row")


def pair_frame(rows: Iterable[tuple[Any, ...]]) -> pl.DataFrame:
    """person_pair rows (id first) once each in id order, as `registry_load.read_pairs`."""
    schema = {"row": pl.Int64, "other_row": pl.Int64, "company_key": pl.Utf8, "other_company_key": pl.Utf8}
    schema |= {k: v for k, v in full.PAIR_SCHEMA.items() if k not in schema}
    return pl.DataFrame([row[1:] for row in sorted(set(rows))], schema=schema, orient="row")


def edge_frame(rows: Iterable[tuple[Any, ...]]) -> pl.DataFrame:
    """company_edge rows (id first) once each in id order, as `registry_load.read_edges`."""
    return pl.DataFrame([row[1:] for row in sorted(set(rows))], schema=full.compiled.EDGE_SCHEMA, orient="row")
