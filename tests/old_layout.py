"""Databases as releases before migration 0008 stored them (content and facts as JSON
per row), built at a given schema revision with rows and audit entries in the form of
that time: what the upgrade tests start from."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlmodel import Session

from customs_rules.contract.models import Declaration
from customs_rules.store import audit, schema
from customs_rules.store.content import legacy_hash
from customs_rules.store.seals import SEAL_V2, SEAL_V3, SEAL_V4, legacy_seal, pack_facts, sealed_columns
from customs_rules.workflow.screener import Screener

AT = dt.datetime(2024, 3, 1, 12, 0, 0, 123456)


@dataclass
class Old:
    """One declaration to store the old way, with its decision and how it is sealed:
    `form` 4, 3 or 2, or "digest" (entries written before seals)."""

    data: dict[str, Any]
    form: str = SEAL_V4
    without_registry: bool = False
    drop: str | None = None  # a field left out of the stored content (an older contract's)
    kind: str = "screen"
    screening: Any = None
    content: dict[str, Any] = field(default_factory=dict)


def database_at(url: str, revision: str, screener: Screener, rows: list[Old]) -> None:
    """A database at `revision` (0004 to 0007) holding `rows`, decided by `screener`, each
    row's decision sealed by one `decisions` audit entry per row."""
    from alembic import command

    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), revision)
        pack = screener.pack
        conn.execute(text("INSERT INTO ruleset_version (version, first_used_at, content) VALUES (:v, :at, :c)"),
                     {"v": pack.version, "at": AT, "c": json.dumps(pack.contents)})  # fmt: skip
        for number, row in enumerate(rows, start=1):
            entry = _store(conn, screener, number, row, int(revision))
            with Session(bind=conn) as session:
                details = {"kind": row.kind, "ruleset_version": pack.version, "decisions": [entry]}
                if row.without_registry:
                    details["registry"] = "none"
                audit.append(session, [audit.Entry("system", "decisions", "1 declaration(s)", details)])
                session.flush()
        if conn.dialect.name == "postgresql":  # ids were given: the sequences move past them, as the store's did
            for table in ("declaration", "decision"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {len(rows)})"))
    engine.dispose()


def _store(conn: Connection, screener: Screener, number: int, row: Old, revision: int) -> list[Any]:
    decl = Declaration.model_validate(row.data)
    row.screening = screener.screen(decl, AT.replace(tzinfo=dt.UTC))
    content = decl.canonical()
    if row.drop:
        del content[row.drop]
    row.content = content
    conn.execute(
        text("INSERT INTO declaration (id, declaration_id, revision, content_hash, date, procedure, exporter_name,"
             " consignee_name, dispatch_country, destination_country, received_at, content) VALUES (:id, :ident, 1,"
             " :hash, :date, :proc, :exp, :con, :disp, :dest, :at, :content)"),
        {"id": number, "ident": decl.declaration_id, "hash": legacy_hash(content), "date": decl.date,
         "proc": decl.procedure.value, "exp": decl.exporter.name, "con": decl.consignee.name,
         "disp": decl.dispatch_country, "dest": decl.destination_country, "at": AT, "content": json.dumps(content)},
    )  # fmt: skip
    for item in decl.items:
        conn.execute(
            text("INSERT INTO item (declaration_pk, line, hs_code, description, value, currency, origin_country)"
                 " VALUES (:pk, :line, :hs, :desc, :value, :cur, :origin)"),
            {"pk": number, "line": item.line, "hs": item.hs_code, "desc": item.description, "value": item.value,
             "cur": item.currency, "origin": item.origin_country},
        )  # fmt: skip
    d = row.screening.decision.as_dict()
    facts = pack_facts(row.screening.facts)
    later = {"registry_version": 0} if revision >= 5 else {}
    later |= {"screened_without_registry": row.without_registry} if revision >= 6 else {}
    names = ", ".join(later)
    conn.execute(
        text(f"INSERT INTO decision (id, kind, declaration_pk, declaration_id, decision, score, ruleset_version,"
             f" screened_at, facts{', ' + names if names else ''}) VALUES (:id, :kind, :id, :ident, :verdict, :score,"
             f" :version, :at, :facts{', ' + ', '.join(':' + n for n in later) if later else ''})"),
        {"id": number, "kind": row.kind, "ident": decl.declaration_id, "verdict": d["decision"], "score": d["score"],
         "version": d["ruleset_version"], "at": AT, "facts": json.dumps(facts)} | later,
    )  # fmt: skip
    findings = [f | {"is_test": t} for t, key in ((False, "findings"), (True, "test_findings")) for f in d[key]]
    for f in findings:
        conn.execute(
            text("INSERT INTO finding (decision_id, rule_id, title, action, score, item_line, is_test, evidence)"
                 " VALUES (:id, :rule, :title, :action, :score, :line, :test, :evidence)"),
            {"id": number, "rule": f["rule_id"], "title": f["title"], "action": f["action"], "score": f["score"],
             "line": f["item_line"], "test": f["is_test"], "evidence": json.dumps(f["evidence"])},
        )  # fmt: skip
    return [number, decl.declaration_id, d["decision"], _seal(row, d, findings, content, facts)]


def _seal(row: Old, d: dict[str, Any], findings: list[dict[str, Any]], content: dict[str, Any], facts: Any) -> str:
    if row.form == "digest":
        rules = sorted(f["rule_id"] for f in findings if not f["is_test"])
        return audit.digest_of(d["decision"], d["score"], d["ruleset_version"], rules)
    columns = None
    if row.form in (SEAL_V4, SEAL_V3):
        decision = {"declaration_id": d["declaration_id"], "kind": row.kind, "officer": None, "registry_version": 0,
                    "screened_at": AT, "screened_without_registry": row.without_registry}  # fmt: skip
        columns = sealed_columns(decision, 1, row.form)
    form = row.form if row.form != "digest" else SEAL_V2
    return legacy_seal(d["decision"], d["score"], d["ruleset_version"], findings, legacy_hash(content), facts,
                       columns, form)  # fmt: skip
