"""Name keys stored beside each company, computed by the same functions the in-memory
index uses (`name_text.tokens`, `names.blocking_keys`), so both find the same parties."""

from __future__ import annotations

from typing import Any

from ..entities import name_text, names
from ..entities.persons import normalize_id


def exact_key(spelling: str) -> str:
    return " ".join(name_text.tokens(spelling))


def company_key_rows(company_pk: int, company_id: str, name: str, aliases: list[str]) -> list[dict[str, Any]]:
    """The keys of one company: its normalised id, and per spelling the exact and block keys."""
    ident = normalize_id(company_id) or company_id
    rows = [{"company_pk": company_pk, "spelling_kind": "id", "spelling": company_id, "kind": "id", "key": ident}]
    for spelling_kind, spelling in [("name", name), *(("alias", a) for a in aliases)]:
        base = {"company_pk": company_pk, "spelling_kind": spelling_kind, "spelling": spelling}
        rows.append(base | {"kind": "exact", "key": exact_key(spelling)})
        rows += [base | {"kind": "block", "key": block} for block in sorted(names.blocking_keys(spelling))]
    return rows


def person_key_rows(person_pk: int, person_name: str) -> list[dict[str, Any]]:
    """The exact and block keys of one person's name."""
    base = {"person_pk": person_pk, "spelling_kind": "name", "spelling": person_name}
    rows = [base | {"kind": "exact", "key": exact_key(person_name)}]
    return rows + [base | {"kind": "block", "key": block} for block in sorted(names.person_blocking_keys(person_name))]
