"""The store: the only package that talks SQL (SQLModel over SQLite or PostgreSQL).

Its names are imported on first use (PEP 562): `customs-rules --help`, or an argument
error, must not pay for importing SQLAlchemy and SQLModel. `ENV_DB` and
`default_db_url` live here because the command line needs them before any database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime import lazy_exports

ENV_DB = "CUSTOMS_RULES_DB"


def default_db_url() -> str:
    """`$CUSTOMS_RULES_DB`, else an SQLite file in the user's data directory."""
    if os.environ.get(ENV_DB):
        return os.environ[ENV_DB]
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'customs-rules' / 'customs-rules.db'}"


_TABLES = ("AuditRecord", "Company", "DecisionRecord", "DeclarationRecord", "FindingRecord", "ItemRecord",
           "OutcomeRecord", "Person", "RuleSetVersion", "WatchlistEntry")  # fmt: skip
_WHERE = {"content_hashes": ".content", "Store": ".store", "PackVersion": ".pack_rows", "RulePackRow": ".pack_rows"}
_WHERE |= dict.fromkeys(_TABLES, ".tables")

if TYPE_CHECKING:
    from .content import content_hashes
    from .pack_rows import PackVersion, RulePackRow
    from .store import Store
    from .tables import (
        AuditRecord,
        Company,
        DecisionRecord,
        DeclarationRecord,
        FindingRecord,
        ItemRecord,
        OutcomeRecord,
        Person,
        RuleSetVersion,
        WatchlistEntry,
    )


__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "ENV_DB",
    "AuditRecord",
    "Company",
    "DecisionRecord",
    "DeclarationRecord",
    "FindingRecord",
    "ItemRecord",
    "OutcomeRecord",
    "PackVersion",
    "Person",
    "RulePackRow",
    "RuleSetVersion",
    "Store",
    "WatchlistEntry",
    "content_hashes",
    "default_db_url",
]
