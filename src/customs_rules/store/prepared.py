"""What storing a screened set needs that no database holds: content hashes, the
declaration rows' columns and the fact signatures (`records.record` writes them).

Nothing here talks SQL: a batch's workers prepare their chunks (`batch.Worker.screen`)
without importing SQLAlchemy and SQLModel (~23 MB of each worker's memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..screening.frames import ScreenedSet
from ..screening.history import party_keys
from .compact import Compact, compact
from .content import complete, content_hashes

ITEM_TABLE_COLUMNS = ("position", "line", "hs_code", "description", "quantity", "unit", "value", "currency",
                      "origin_country", "net_mass_kg", "extra")  # fmt: skip
HEADER_TABLE_COLUMNS = ("declaration_id", "date", "procedure", "document_type", "exporter_name", "exporter_id",
                        "exporter_country", "exporter_extra", "consignee_name", "consignee_id", "consignee_country",
                        "consignee_extra", "dispatch_country", "destination_country", "extra")  # fmt: skip

PARTY_KEYS = ("exporter_key", "consignee_key")  # each party's identity in history (migration 0012)


@dataclass
class Prepared:
    """What storing a set needs that no database holds."""

    screened: ScreenedSet
    heads: pl.DataFrame  # decl, content_hash and the declaration row's columns
    signatures: Compact
    distinct: pl.DataFrame  # sig, digest, facts: every signature text of the set


def prepare(screened: ScreenedSet) -> Prepared:
    headers = complete(screened.declarations.headers)
    hashes = content_hashes(headers, screened.declarations.items)
    if screened.party_keys.is_empty():
        headers = party_keys(headers)
    else:  # as the core's history facts computed them
        headers = headers.join(screened.party_keys, on="decl", how="left", maintain_order="left")
    heads = headers.select(
        "decl", *HEADER_TABLE_COLUMNS, *PARTY_KEYS, pl.col("transit_countries").list.join(" ").fill_null("")
    ).with_columns(pl.Series("content_hash", hashes, pl.String))
    declarations = screened.declarations
    signatures = compact(screened.facts, declarations.headers, declarations.items, len(screened))
    return Prepared(screened, heads, signatures, signatures.distinct())
