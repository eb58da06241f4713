"""The registry snapshot's parts as files: their names, their columns, and the Arrow files a
batch's workers map into memory (`registry_snapshot.extract` writes them).

Nothing here talks SQL, so a worker that maps the parts never imports SQLAlchemy and
SQLModel (~23 MB of each worker's memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

PARTS = ("companies", "names", "blocks", "people", "pairs", "edges")
_TEXT, _INT = pl.Utf8, pl.Int64
# each part's columns (what an absent part reads as: no rows of these columns)
SCHEMAS: dict[str, dict[str, Any]] = {
    "companies": {"pk": _INT, "company_id": _TEXT, "name": _TEXT, "country": _TEXT, "registered_on": pl.Date,
                  "activity_codes": _TEXT, "aliases": _TEXT, "address": _TEXT, "address_key": _TEXT, "key": _TEXT},
    "names": {"hash": _INT, "pk": _INT, "key": _TEXT, "spelling_kind": _TEXT, "spelling": _TEXT, "by_company": _INT,
              "company_pk": _INT},
    "blocks": {"hash": _INT, "key": _TEXT, "pk": _INT},
    "people": {"pk": _INT, "company_id": _TEXT, "person_name": _TEXT, "role": _TEXT, "person_id": _TEXT,
               "birth_date": pl.Date, "person_company_id": _TEXT, "company_key": _TEXT, "holder_key": _TEXT},
    "pairs": {"row": _INT, "other_row": _INT, "company_key": _TEXT, "other_company_key": _TEXT, "kind": _TEXT,
              "score": pl.Float64, "full_score": pl.Float64, "initials": pl.Boolean, "same_birth": pl.Boolean},
    "edges": {"company_key": _TEXT, "other_key": _TEXT, "kind": _TEXT, "person_pk": _INT, "role": _TEXT},
}  # fmt: skip


def empty(name: str) -> pl.DataFrame:
    """Part `name` with no rows."""
    return pl.DataFrame(schema=SCHEMAS[name])


def mapped_file(path: Path) -> pl.DataFrame:
    """An uncompressed Arrow IPC file as a frame mapped into memory: no copy is made, and
    the file may be removed once read (the mapping keeps it)."""
    import pyarrow as pa
    from pyarrow import ipc

    return pl.from_arrow(ipc.open_file(pa.memory_map(str(path))).read_all(), rechunk=False)  # type: ignore[return-value]


def mapped_frames(directory: Path) -> dict[str, pl.DataFrame]:
    """The frames of `registry_snapshot.extract`'s files in `directory`, mapped."""
    return {name: mapped_file(directory / f"{name}.arrow") for name in PARTS}
