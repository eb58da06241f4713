"""Storage: the only package that talks SQL (SQLModel over SQLite or PostgreSQL)."""

from .records import content_hash
from .store import ENV_DB, Store, default_db_url
from .tables import (
    AuditRecord,
    Company,
    CompanyKey,
    DecisionRecord,
    DeclarationRecord,
    FindingRecord,
    ItemRecord,
    OutcomeRecord,
    Person,
    PersonKey,
    RuleSetVersion,
    WatchlistEntry,
)

__all__ = [
    "ENV_DB",
    "AuditRecord",
    "Company",
    "CompanyKey",
    "DecisionRecord",
    "DeclarationRecord",
    "FindingRecord",
    "ItemRecord",
    "OutcomeRecord",
    "Person",
    "PersonKey",
    "RuleSetVersion",
    "Store",
    "WatchlistEntry",
    "content_hash",
    "default_db_url",
]
