"""PLACEHOLDER for the registry's migration 0007, written in parallel on another
branch: it only keeps the chain unbroken on this branch. Drop this file when merging.

Revision ID: 0007
Revises: 0006
"""

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    pass
