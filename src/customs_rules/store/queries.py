"""Reading decisions back: look-ups, lists, explanations, outcomes, rule statistics."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from ..contract.choices import CONFIRMED
from ..contract.errors import CustomsRulesError
from . import reading
from .seals import WITHOUT_REGISTRY
from .tables import DecisionRecord, DeclarationRecord, FindingRecord, OutcomeRecord, RuleSetVersion

Period = tuple[dt.date | None, dt.date | None]  # (since, until), both days included


def reference(decision_id: int | None) -> str:
    return f"#{decision_id}"


def decision_dict(session: Session, row: DecisionRecord) -> dict[str, Any]:
    """The decision as the contract's JSON object, plus where it stands in the store."""
    findings = session.exec(
        select(FindingRecord).where(FindingRecord.decision_id == row.id).order_by(col(FindingRecord.id))
    ).all()
    declaration = session.get(DeclarationRecord, row.declaration_pk)
    as_dict = [
        {k: getattr(f, k) for k in ("rule_id", "title", "action", "score", "item_line", "evidence")} for f in findings
    ]
    return {
        "declaration_id": row.declaration_id,
        "decision": row.decision,
        "score": row.score,
        "findings": [f for f, r in zip(as_dict, findings, strict=True) if not r.is_test],
        "test_findings": [f for f, r in zip(as_dict, findings, strict=True) if r.is_test],
        "ruleset_version": row.ruleset_version,
        "screened_at": _iso(row.screened_at),
        # the optional field, as screening prints it: only when it is so
        **({WITHOUT_REGISTRY: True} if row.screened_without_registry else {}),
        "reference": reference(row.id),
        "revision": declaration.revision if declaration else None,
        "kind": row.kind,
        "officer": row.officer,
    }


def _iso(value: dt.datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def identical(
    session: Session, declaration_id: str, digest: str, without_registry: bool = False
) -> DecisionRecord | None:
    """The latest decision on a stored declaration with this id and exactly this content
    (its content hash, `content.content_hashes`), screened with a registry, or
    (`without_registry`) without one."""
    query = (
        select(DecisionRecord)
        .join(DeclarationRecord, col(DeclarationRecord.id) == DecisionRecord.declaration_pk)
        .where(DeclarationRecord.declaration_id == declaration_id, DeclarationRecord.content_hash == digest)
        .where(DecisionRecord.screened_without_registry == without_registry)
        .order_by(col(DecisionRecord.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


# `#12`, and the spellings that survive a shell without quotes: `12`, `n12`, `N12`
DECISION_NUMBER = re.compile(r"#?[nN]?([0-9]{1,18})")


class AmbiguousReference(CustomsRulesError):
    exit_code = 2


class UnknownRule(CustomsRulesError):
    exit_code = 2


def check_rule(session: Session, rule_id: str) -> None:
    """Refuse a rule id that no rule set used on this database has, and that no stored
    finding names: a typo must not read as "this rule never found anything"."""
    if session.exec(select(FindingRecord.id).where(FindingRecord.rule_id == rule_id).limit(1)).first():
        return
    known = set(session.exec(select(FindingRecord.rule_id).distinct()))
    for content in session.exec(select(RuleSetVersion.content)):
        known |= _rule_ids(content)
    if rule_id in known:
        return
    close = difflib.get_close_matches(rule_id, sorted(known), n=3, cutoff=0.6)
    raise UnknownRule(
        f"no rule {rule_id!r} in any rule set used on this database",
        f"did you mean {' or '.join(map(repr, close))}?" if close else "see `customs-rules rules list`",
    )


def _rule_ids(content: Mapping[str, Any]) -> set[str]:
    """The ids of the rules in a stored rule set (its files' text by path)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    ids: set[str] = set()
    for path, text in content.items():
        if path.startswith("lists/") or not path.endswith((".yaml", ".yml")):
            continue
        try:
            documents = list(yaml.load_all(text, Loader=loader))
        except yaml.YAMLError:
            continue  # a stored pack was valid when used; nothing to learn from a broken one
        ids |= {str(d["id"]) for d in documents if isinstance(d, dict) and d.get("id") is not None}
    return ids


def find(session: Session, ref: str) -> DecisionRecord | None:
    """`#12` is decision 12; `12` and `n12` too, unless a declaration has exactly that id
    (then they are refused as ambiguous); anything else is a declaration id, and means
    its latest decision."""
    ref = ref.strip()
    number = DECISION_NUMBER.fullmatch(ref)
    if ref.startswith("#"):
        return session.get(DecisionRecord, int(number.group(1))) if number else None
    query = (
        select(DecisionRecord)
        .where(DecisionRecord.declaration_id == ref)
        .order_by(col(DecisionRecord.id).desc())
        .limit(1)
    )
    found = session.exec(query).first()
    by_number = session.get(DecisionRecord, int(number.group(1))) if number else None
    if found is not None and by_number is not None and found.id != by_number.id:
        raise AmbiguousReference(
            f"{ref!r} is both declaration {ref} (its latest decision {reference(found.id)}) "
            f"and decision {reference(by_number.id)}",
            f"write the decision's reference in quotes, e.g. '{reference(found.id)}' or '{reference(by_number.id)}'",
        )
    return found or by_number


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def in_period(query: Any, screened: Period = (None, None), declared: Period = (None, None)) -> Any:
    """Decisions screened within `screened` (whole UTC days) and declarations dated
    within `declared`, both ends included; the query must join DeclarationRecord for
    `declared`."""
    since, until = screened
    if since:
        query = query.where(col(DecisionRecord.screened_at) >= _day_start(since))
    if until:
        query = query.where(col(DecisionRecord.screened_at) < _day_start(until + dt.timedelta(days=1)))
    since, until = declared
    if since:
        query = query.where(col(DeclarationRecord.date) >= since)
    if until:
        query = query.where(col(DeclarationRecord.date) <= until)
    return query


def listing(
    session: Session,
    decision: str | None = None,
    rule: str | None = None,
    exporter: str | None = None,
    limit: int = 200,
    screened_since: dt.date | None = None,
    screened_until: dt.date | None = None,
    declared_since: dt.date | None = None,
    declared_until: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Decisions, newest first, filtered; `exporter` matches part of the name, any case."""
    query = select(DecisionRecord, DeclarationRecord).join(
        DeclarationRecord, col(DeclarationRecord.id) == DecisionRecord.declaration_pk
    )
    if decision:
        query = query.where(DecisionRecord.decision == decision)
    query = in_period(query, (screened_since, screened_until), (declared_since, declared_until))
    if rule:
        check_rule(session, rule)
        hits = select(FindingRecord.decision_id).where(
            FindingRecord.rule_id == rule, col(FindingRecord.is_test).is_(False)
        )
        query = query.where(col(DecisionRecord.id).in_(hits))
    if exporter:
        name = (
            func.py_casefold(DeclarationRecord.exporter_name)
            if _sqlite(session)
            else func.lower(DeclarationRecord.exporter_name)
        )
        query = query.where(name.contains(exporter.casefold(), autoescape=True))
    rows = session.exec(query.order_by(col(DecisionRecord.id).desc()).limit(limit)).all()
    rules = _rules_of(session, [d.id for d, _ in rows if d.id is not None])
    return [
        {
            "reference": reference(d.id),
            "declaration_id": d.declaration_id,
            "revision": decl.revision,
            "decision": d.decision,
            "score": d.score,
            "rule_ids": rules.get(d.id or 0, []),
            "exporter": decl.exporter_name,
            "consignee": decl.consignee_name,
            "destination_country": decl.destination_country,
            "kind": d.kind,
            "screened_without_registry": d.screened_without_registry,
            "officer": d.officer,
            "screened_at": _iso(d.screened_at),
        }
        for d, decl in rows
    ]


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _rules_of(session: Session, decision_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if decision_ids:
        query = select(FindingRecord.decision_id, FindingRecord.rule_id).where(
            col(FindingRecord.decision_id).in_(decision_ids), col(FindingRecord.is_test).is_(False)
        )
        for decision_id, rule_id in session.exec(query.order_by(col(FindingRecord.id))):
            found[decision_id].append(rule_id)
    return found


def explanation(session: Session, row: DecisionRecord) -> dict[str, Any]:
    """Everything needed to explain a decision: findings, rule set, facts, outcomes."""
    body = decision_dict(session, row)
    declaration = session.get(DeclarationRecord, row.declaration_pk)
    same_revision = select(DecisionRecord.id).where(DecisionRecord.declaration_pk == row.declaration_pk)
    outcomes = session.exec(
        select(OutcomeRecord).where(col(OutcomeRecord.decision_id).in_(same_revision)).order_by(col(OutcomeRecord.id))
    ).all()
    return body | {
        "declaration": reading.content(session, declaration) if declaration else None,
        "facts": reading.facts(session, row),
        "outcomes": [
            {
                "reference": reference(o.decision_id),
                "result": o.result,
                "note": o.note,
                "officer": o.officer,
                "recorded_at": _iso(o.recorded_at),
            }
            for o in outcomes
        ],  # fmt: skip
    }


STATS_COUNTS = ("hits", "decided_hold", "decided_inspect", "with_outcome", "confirmed")


def rule_stats(
    session: Session,
    screened_since: dt.date | None = None,
    screened_until: dt.date | None = None,
    declared_since: dt.date | None = None,
    declared_until: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Per rule: the declarations it found in, how they were decided, how many have an
    inspection outcome, how many were confirmed, and the hit rate.

    A declaration counts once, as its latest revision, on the latest decision officers
    acted on (a submission or a batch screening; a rescreen is a what-if and is left
    out): two revisions of one shipment are one shipment. Its inspection outcome is the
    latest one recorded against any of its decisions. `hit_rate` is confirmed (seized
    or irregularity) over `with_outcome`, a fraction, or None before any outcome.
    """
    acted = (
        select(DecisionRecord.declaration_id, func.max(DecisionRecord.id).label("id"))
        .join(DeclarationRecord, col(DeclarationRecord.id) == DecisionRecord.declaration_pk)
        .where(DecisionRecord.kind != "rescreen", col(DeclarationRecord.revision) == _latest_revision())
    )
    acted = in_period(acted, (screened_since, screened_until), (declared_since, declared_until))
    acted_ids = select(acted.group_by(col(DecisionRecord.declaration_id)).subquery().c.id)
    query = (
        select(FindingRecord.rule_id, DecisionRecord.decision, DecisionRecord.declaration_id)
        .join(DecisionRecord, col(DecisionRecord.id) == FindingRecord.decision_id)
        .where(col(FindingRecord.is_test).is_(False), col(DecisionRecord.id).in_(acted_ids))
        .distinct()  # a rule found on several items of one declaration counts once
    )
    outcomes = latest_outcomes(session)
    stats: dict[str, dict[str, Any]] = {}
    for rule_id, decision, declaration_id in session.exec(query):
        row = stats.setdefault(rule_id, dict.fromkeys(STATS_COUNTS, 0) | {"rule_id": rule_id})
        row["hits"] += 1
        row["decided_hold"] += decision == "hold"
        row["decided_inspect"] += decision == "inspect"
        latest = outcomes.get(declaration_id)
        row["with_outcome"] += latest is not None
        row["confirmed"] += latest in CONFIRMED
    for row in stats.values():
        row["hit_rate"] = round(row["confirmed"] / row["with_outcome"], 4) if row["with_outcome"] else None
    return [{"rule_id": r["rule_id"], **{k: r[k] for k in STATS_COUNTS}, "hit_rate": r["hit_rate"]}
            for r in sorted(stats.values(), key=lambda r: (-r["hits"], r["rule_id"]))]  # fmt: skip


def latest_declaration_keys(session: Session, since: dt.date | None = None, until: dt.date | None = None) -> Any:
    """The declarations `latest_declarations` gives (the newest revision of each, dated
    within since..until, that has a decision), as columns: `pk`, `declaration_id`,
    `revision`, `date`, in row order. A polars frame: a backtest of all history reads
    hundreds of thousands of them."""
    import polars as pl

    newest = (
        select(DeclarationRecord.declaration_id, func.max(DeclarationRecord.revision).label("revision"))
        .group_by(col(DeclarationRecord.declaration_id))
        .subquery()
    )
    decided = select(DecisionRecord.id).where(col(DecisionRecord.declaration_pk) == DeclarationRecord.id).exists()
    query = (
        select(
            col(DeclarationRecord.id),
            col(DeclarationRecord.declaration_id),
            col(DeclarationRecord.revision),
            col(DeclarationRecord.date),
        )
        .join(
            newest,
            (col(DeclarationRecord.declaration_id) == newest.c.declaration_id)
            & (col(DeclarationRecord.revision) == newest.c.revision),
        )
        .where(decided)
    )
    query = in_period(query, declared=(since, until)).order_by(col(DeclarationRecord.id))
    schema = {"pk": pl.Int64, "declaration_id": pl.String, "revision": pl.Int64, "date": pl.Date}
    return pl.DataFrame(list(session.connection().execute(query)), schema=schema, orient="row")


def latest_outcomes(session: Session) -> dict[str, str]:
    """Per declaration id, the latest inspection outcome recorded against any of its
    decisions (what `stats rules` and a backtest count as confirmed or not)."""
    outcomes: dict[str, str] = {}
    for declaration_id, result in session.exec(
        select(OutcomeRecord.declaration_id, OutcomeRecord.result).order_by(col(OutcomeRecord.id))
    ):
        outcomes[declaration_id] = result  # the latest outcome counts
    return outcomes


def _latest_revision() -> Any:
    """The newest revision of the declaration in the enclosing query (correlated)."""
    newer = aliased(DeclarationRecord)
    return (
        select(func.max(newer.revision))
        .where(newer.declaration_id == DeclarationRecord.declaration_id)
        .correlate(DeclarationRecord)
        .scalar_subquery()
    )


class LatestDeclaration(NamedTuple):
    """What a rescreen reads of a stored declaration before screening it again (the
    declaration itself is read back a chunk at a time: `readback.declaration_set`)."""

    id: int
    declaration_id: str
    revision: int
    exporter_name: str


def latest_declarations(
    session: Session, since: dt.date | None = None, until: dt.date | None = None
) -> list[tuple[LatestDeclaration, int, str]]:
    """The newest revision of each declaration dated within since..until (both
    included), with its newest decision's id and verdict; those without a decision are
    left out. Four columns a row, not the whole record: a rescreen of all history reads
    hundreds of thousands (the records made a 1M-line store's rescreen peak at 2 GB)."""
    newest = (
        select(DeclarationRecord.declaration_id, func.max(DeclarationRecord.revision).label("revision"))
        .group_by(col(DeclarationRecord.declaration_id))
        .subquery()
    )
    last = (
        select(col(DecisionRecord.declaration_pk).label("pk"), func.max(DecisionRecord.id).label("decision_id"))
        .group_by(col(DecisionRecord.declaration_pk))
        .subquery()
    )
    query = (
        sqlalchemy.select(  # six columns: more than sqlmodel's `select` types
            col(DeclarationRecord.id), col(DeclarationRecord.declaration_id), col(DeclarationRecord.revision),
            col(DeclarationRecord.exporter_name), col(DecisionRecord.id), col(DecisionRecord.decision),
        )
        .join(newest, (col(DeclarationRecord.declaration_id) == newest.c.declaration_id)
              & (col(DeclarationRecord.revision) == newest.c.revision))
        .join(last, last.c.pk == col(DeclarationRecord.id))
        .join(DecisionRecord, col(DecisionRecord.id) == last.c.decision_id)
    )  # fmt: skip
    query = in_period(query, declared=(since, until)).order_by(col(DeclarationRecord.id))
    return [
        (LatestDeclaration(pk, ident, revision, exporter), decision_id, verdict)
        for pk, ident, revision, exporter, decision_id, verdict in session.connection().execute(query)
    ]
