"""The fixed sets of values that users choose from: decisions, inspection results, audit
actions, output formats.

Kept in a module that imports nothing, so the command line can offer them as choices
(and list them in `--help` and in its errors) without importing pydantic, the database
layer or the rules engine; the library takes them from here too, so the two never drift.
"""

from __future__ import annotations

LEVELS = {"release": 0, "inspect": 1, "hold": 2}
DECISIONS = tuple(LEVELS)

RESULTS = ("seized", "irregularity", "clean")  # what an inspection found
CONFIRMED = ("seized", "irregularity")  # the results that confirm a rule's hit

# what the audit log records (store/audit.py `Entry.action`)
AUDIT_ACTIONS = ("submit", "rejected", "decision", "decisions", "outcome", "registry_load", "ruleset", "rescreen",
                 "ruleset_publish", "ruleset_approve", "ruleset_reject")  # fmt: skip
