"""The compiled registry's tables of migrations 0003 to 0012, for the migrations only.

Until migration 0014 a load also wrote the name keys (`company_key`, `person_key`), the
person pairs (`person_pair`) and the company edges (`company_edge`) as tables. Migrations
0007 and 0011 fill them and build the snapshot from them on a database stored before;
0014 checks the snapshot against them before it drops them, and its downgrade fills them
again as a load of that time did. Table names are this module's constants.
"""

from __future__ import annotations

import polars as pl
from sqlmodel import Session

from ..entities import compile as compiled
from ..entities.person_pairs import company_pairs
from . import registry_snapshot, snapshot_files
from .registry_load import (
    COMPANY_SCHEMA,
    PEOPLE_SCHEMA,
    _date,
    _execute,
    _fix_sequence,
    _frame,
    _insert,
    _keys_of,
    _rows,
    _with_id_keys,
    without_indexes,
)  # fmt: skip

PAIR_COLUMNS = ("person_pk", "other_pk", "company_key", "other_company_key", "kind", "score", "full_score",
                "initials", "same_birth")  # fmt: skip
EDGE_COLUMNS = ("company_key", "other_key", "kind", "person_pk", "role")
KEY_COLUMNS = ("key", "kind", "spelling_kind", "spelling")
KEY_SCHEMA = compiled.KEY_SCHEMA


def _keys(frame: pl.DataFrame, owner: str) -> pl.DataFrame:
    return frame.rename({"pk": owner}).select(owner, *KEY_COLUMNS)


def write_company_keys(session: Session) -> None:
    """company_key afresh from the stored companies: each one's id, exact and blocking keys."""
    _execute(session, "DELETE FROM company_key")
    rows = read_companies(session).select(
        "company_id", "name", pl.col("aliases").str.split(";").list.eval(
            pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != "")),
    )  # fmt: skip
    with without_indexes(session, ("company_key",)):
        _insert(session, "company_key", _keys(compiled.company_keys(rows), "company_pk"))
    _fix_sequence(session, "company_key")


def rewrite_person_keys(session: Session, people: pl.DataFrame) -> None:
    """person_key afresh: each distinct natural-person name's keys, owned by its first row.
    people: `pk`, `person_name`, `person_company_id`, in load order."""
    _execute(session, "DELETE FROM person_key")
    natural = people.filter(pl.col("person_company_id").is_null())
    first = natural.group_by("person_name", maintain_order=True).agg(pl.col("pk").first())
    with without_indexes(session, ("person_key",)):
        _insert(session, "person_key", _keys(compiled.person_keys(first), "person_pk"))
    _fix_sequence(session, "person_key")


def write_compiled(session: Session) -> tuple[int, int]:
    """person_pair and company_edge afresh from the stored companies and people. Returns their counts."""
    for table in ("person_pair", "company_edge"):
        _execute(session, f"DELETE FROM {table}")
    rows = _rows(session, "SELECT id, company_id, address_key FROM company ORDER BY id")
    companies = pl.DataFrame(rows, schema={"pk": pl.Int64, "company_id": pl.Utf8, "address_key": pl.Utf8},
                             orient="row")  # fmt: skip
    companies = companies.with_columns(_keys_of(companies["company_id"]).alias("key"))
    people = read_people(session)
    pairs = company_pairs(companies.select("key"), people)
    edges = pl.concat([compiled.role_edges(companies, people), compiled.address_edges(companies)])
    with without_indexes(session, ("person_pair", "company_edge")):
        _insert(session, "person_pair", pairs.select(
            pl.col("row").alias("person_pk"), pl.col("other_row").alias("other_pk"), "company_key",
            "other_company_key", *PAIR_COLUMNS[4:],
        ))  # fmt: skip
        _insert(session, "company_edge", edges.select(EDGE_COLUMNS))
    for table in ("person_pair", "company_edge"):
        _fix_sequence(session, table)
    return len(pairs), len(edges)


def fill(session: Session) -> None:
    """All four tables as a load before 0014 wrote them, from the stored companies and people."""
    write_company_keys(session)
    rewrite_person_keys(session, read_people(session))
    write_compiled(session)


def read_companies(session: Session) -> pl.DataFrame:
    """The stored companies in load order, with `key` (their normalised id)."""
    sql = "SELECT id, company_id, name, country, registered_on, activity_codes, aliases, address, address_key FROM company ORDER BY id"  # noqa: E501
    frame = _frame(session, sql, COMPANY_SCHEMA, lambda r: (r[0], *r[1:4], _date(r[4]), *r[5:]))
    return frame.with_columns(_keys_of(frame["company_id"]).alias("key"))


def read_people(session: Session) -> pl.DataFrame:
    """The stored people in load order, with `company_key` and `holder_key` (normalised ids)."""
    sql = "SELECT id, company_id, person_name, role, person_id, birth_date, person_company_id FROM person ORDER BY id"
    return _with_id_keys(_frame(session, sql, PEOPLE_SCHEMA, lambda r: (*r[:5], _date(r[5]), r[6])))


def read_company_keys(session: Session) -> pl.DataFrame:
    """company_key rows of the names (kinds exact and block; the ids are `read_companies`'
    keys): pk, key, kind, spelling_kind, spelling, in id order."""
    sql = "SELECT company_pk, key, kind, spelling_kind, spelling FROM company_key WHERE kind <> 'id' ORDER BY id"
    return _frame(session, sql, KEY_SCHEMA)


def read_frames(session: Session) -> dict[str, pl.DataFrame]:
    """The registry's frames read from its tables (as the snapshot holds them)."""
    pairs = f"SELECT {', '.join(PAIR_COLUMNS)} FROM person_pair ORDER BY id"
    edges = f"SELECT {', '.join(EDGE_COLUMNS)} FROM company_edge ORDER BY id"
    return {
        "companies": read_companies(session), **compiled.name_frames(read_company_keys(session)),
        "people": read_people(session), "pairs": _frame(session, pairs, snapshot_files.SCHEMAS["pairs"]),
        "edges": _frame(session, edges, snapshot_files.SCHEMAS["edges"]),
    }  # fmt: skip


def write_snapshot(session: Session) -> None:
    """Every part of the snapshot afresh from the tables (migration 0011)."""
    for name, frame in read_frames(session).items():
        registry_snapshot.write_part(session, name, frame)
