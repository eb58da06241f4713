"""Name and address keys recomputed (issue #12): legal forms of Central Asia and the
Caucasus are stripped, English trade words written in Cyrillic become the English word,
and Kazakh and Kyrgyz address words are dropped, so keys stored before no longer agree
with the keys a search computes. No column changes: every stored key is computed again
by the functions the loader uses (`store.keys`, `addresses.address_key`), in slices.
A later change of the key functions adds a migration like this one.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
SLICE = 10_000  # rows read and rewritten at a time: memory stays bounded on a large registry


def upgrade() -> None:
    _company_keys()
    _person_keys()


def _table(name: str, owner: str) -> sa.TableClause:
    columns = (owner, "key", "kind", "spelling_kind", "spelling")
    return sa.table(name, *(sa.column(c) for c in columns))


def _slices(bind: sa.Connection, sql: str) -> Iterator[Sequence[Any]]:
    """The rows of `sql` (its first column the id, with `{after}` where the WHERE goes) a
    slice at a time, by id: no cursor stays open on a table while it is rewritten."""
    last = 0
    while part := bind.execute(sa.text(sql.format(after="id > :last")), {"last": last, "n": SLICE}).all():
        yield part
        last = part[-1][0]


def _company_keys() -> None:
    from customs_rules.contract.registry_rows import split_list
    from customs_rules.entities.addresses import address_key
    from customs_rules.store.keys import company_key_rows

    bind = op.get_bind()
    # the id keys stay (normalize_id did not change); name keys are made again in order
    bind.execute(sa.text("DELETE FROM company_key WHERE kind <> 'id'"))
    table = _table("company_key", "company_pk")
    sql = "SELECT id, company_id, name, aliases, address, address_key FROM company WHERE {after} ORDER BY id LIMIT :n"
    for part in _slices(bind, sql):
        keys = [
            key
            for pk, ident, name, aliases, _, _ in part
            for key in company_key_rows(pk, ident, name, split_list(aliases or ""))
            if key["kind"] != "id"
        ]
        if keys:
            op.bulk_insert(table, keys)
        changed = [
            {"pk": pk, "key": new}
            for pk, _, _, _, address, old in part
            if (new := address_key(address)) != old
        ]  # fmt: skip
        if changed:
            bind.execute(sa.text("UPDATE company SET address_key = :key WHERE id = :pk"), changed)


def _person_keys() -> None:
    from customs_rules.store.keys import person_key_rows

    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM person_key"))
    table = _table("person_key", "person_pk")
    # a role held by a company links through that company, not by a name: no keys
    sql = "SELECT id, person_name FROM person WHERE person_company_id IS NULL AND {after} ORDER BY id LIMIT :n"
    for part in _slices(bind, sql):
        keys = [key for pk, name in part for key in person_key_rows(pk, name)]
        if keys:
            op.bulk_insert(table, keys)
