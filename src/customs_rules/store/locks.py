"""PostgreSQL advisory lock keys: any constants, one per kind of writer serialised
(SQLite's BEGIN IMMEDIATE takes its one lock instead)."""

AUDIT_LOCK_KEY = 7_320_116  # audit appends, and the writers of screened declarations before them
PACK_LOCK_KEY = 7_320_117  # rule-pack approvals: one at a time, so exactly one pack is active
SCHEMA_LOCK_KEY = 7_320_115  # schema upgrades
