"""The rule loader: YAML rule files into `Rule` objects, with located errors.

Parsing checks structure (known keys, operators, types of the YAML values); the
semantic checks (fields, lists, groups, engine limits, duplicate ids) live apart in
`validators`. `load_pack` runs both and refuses a broken pack whole.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..contract.errors import LocatedError, Location, RuleError
from ..contract.input_text import control_problem
from .model import (
    GROUP_OPS,
    LIST_OPS,
    MAX_NESTING,
    OPERATORS,
    POLICY_FILE,
    REQUIRED_KEYS,
    RULE_KEYS,
    SET_OPS,
    Action,
    Condition,
    Example,
    Leaf,
    Node,
    Rule,
    RulePack,
    Status,
)
from .reference import ReferenceData, load_reference
from .validators import validate_pack
from .yamlfile import line_of, load_documents


def parse_pack(directory: Path) -> tuple[RulePack, list[LocatedError]]:
    """Parse every rule file, the reference lists and the policy, collecting all errors."""
    directory = Path(directory)
    if not directory.is_dir():
        return RulePack([], ReferenceData(), {}, directory), [
            LocatedError(Location(str(directory)), "rules directory not found")
        ]
    reference, errors = load_reference(directory)
    pack = RulePack([], reference, {}, directory)
    for path in sorted(directory.rglob("*.y*ml")):
        rel = path.relative_to(directory).as_posix()
        display = _display(path, directory)
        pack.contents[rel] = path.read_text(encoding="utf-8", errors="replace")
        if rel.startswith("lists/"):
            continue
        documents, problems = load_documents(path, display)
        errors += problems
        if rel == POLICY_FILE:
            pack.policy_doc = documents[0] if documents else {}
            continue
        for doc in documents:
            rule, problems = parse_rule(doc, display)
            errors += problems
            if rule is not None:
                pack.rules.append(rule)
    return pack, errors


def load_pack(directory: Path) -> RulePack:
    """Parse and validate a pack; any error refuses the whole pack (nothing half-loaded)."""
    pack, errors = parse_pack(directory)
    errors += validate_pack(pack)
    if errors:
        raise RuleError(
            f"rule pack {directory} is broken; nothing was evaluated",
            errors,
            "fix the files named above, then run `customs-rules rules validate`",
        )
    return pack


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def parse_rule(doc: Any, source: str) -> tuple[Rule | None, list[LocatedError]]:
    """One YAML document into a Rule, with the located reasons it is not a good one.

    Parsing goes on past the first error (pySigma's model: collect them all): a rule
    with errors comes back marked `broken`, holding what did parse (its id, its good
    conditions...) so that the validators report their errors in the same run.
    """
    line = line_of(doc)
    errors: list[LocatedError] = []

    def err(key: str | None, message: str, at: int | None = None) -> None:
        where = at if at is not None else (line_of(doc, key) if key else line)
        errors.append(LocatedError(Location(source, where, field=key), message))

    if not isinstance(doc, dict):
        err(None, "a rule must be a YAML mapping with id, title, conditions...")
        return None, errors
    for key in doc:
        if key not in RULE_KEYS:
            err(key, f"unknown key {key!r}; rule keys are: {', '.join(sorted(RULE_KEYS))}")
    present = {key for key in REQUIRED_KEYS if doc.get(key) not in (None, "")}
    for key in REQUIRED_KEYS:
        if key not in present:
            err(None, f"missing required key {key!r}")
    for key in ("id", "title", "description"):
        if key in present and (not isinstance(doc[key], str | int) or isinstance(doc[key], bool)):
            err(key, f"{key} must be plain text")
        elif key in present and isinstance(doc[key], str) and control_problem(doc[key]):
            # shown in findings, tables and exports: YAML's "\e" must not reach a terminal
            err(key, f"{key} {control_problem(doc[key])}")
    status = _enum(Status, doc, "status", err) if "status" in present else None
    action = _enum(Action, doc, "action", err) if "action" in present else None
    score = doc.get("score", 0.0)
    if "score" in present and (
        isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score < float("inf")
    ):
        err("score", f"score must be a number >= 0, got {score!r}")
        score = 0.0
    valid_from = _date(doc, "valid_from", err)
    valid_until = _date(doc, "valid_until", err)
    if valid_from and valid_until and valid_from > valid_until:
        err("valid_until", f"valid_until {valid_until} is before valid_from {valid_from}: never in force")
    refs = doc.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        err("references", "references must be a list of texts")
        refs = []
    waivable = doc.get("waivable", True)
    if not isinstance(waivable, bool):
        err("waivable", f"waivable must be true or false, got {waivable!r}")
        waivable = True
    condition = parse_condition(doc["conditions"], source, errors) if "conditions" in present else None
    examples = _examples(doc.get("examples"), source, errors, line_of(doc, "examples"))
    broken = bool(errors) or status is None or action is None or condition is None
    rule = Rule(
        id=_text(doc.get("id")),
        title=_text(doc.get("title")),
        description=_text(doc.get("description")),
        status=status or Status.ACTIVE,  # stand-ins of a broken rule: they never hold
        action=action or Action.INSPECT,
        score=float(score),
        condition=condition or Node("all", (), line),
        family=str(doc.get("family", "")),
        references=tuple(refs),
        valid_from=valid_from,
        valid_until=valid_until,
        examples=examples,
        waivable=waivable,
        source=source,
        line=line,
        broken=broken,
    )
    return rule, errors


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _enum(kind: Any, doc: Any, key: str, err: Any) -> Any:
    try:
        return kind(doc[key])
    except ValueError:
        err(key, f"{key} must be one of {', '.join(m.value for m in kind)}, got {doc[key]!r}")
        return None


def _date(doc: Any, key: str, err: Any) -> dt.date | None:
    value = doc.get(key)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        err(key, f"{key} must be a date YYYY-MM-DD, got {value!r}")
        return None


def parse_condition(node: Any, source: str, errors: list[LocatedError], level: int = 1) -> Condition | None:
    """`all`/`any`/`not` nesting over leaves `{field: NAME, OPERATOR: VALUE}`, at most
    MAX_NESTING levels deep. What parses is kept (a group keeps its good children), so
    the validators can check it in the same run; every error is collected."""
    line = line_of(node)
    where = Location(source, line)
    if not isinstance(node, dict):
        errors.append(LocatedError(where, "a condition must be a mapping (all/any/not or a field test)"))
        return None
    groups = [k for k in ("all", "any", "not") if k in node]
    if groups:
        if len(node) != 1:  # reported; the group itself is still checked
            extra = ", ".join(sorted(set(node) - {groups[0]}))
            errors.append(LocatedError(where, f"'{groups[0]}' cannot share its mapping with: {extra}"))
        if level > MAX_NESTING:
            message = f"conditions nest deeper than {MAX_NESTING} all/any/not levels: split the rule"
            errors.append(LocatedError(where, message))
            return None
        return _group(groups[0], node[groups[0]], source, errors, line, level)
    return _leaf(node, source, errors, line)


def _group(kind: str, body: Any, source: str, errors: list[LocatedError], line: int | None, level: int) -> Node | None:
    if kind == "not":
        child = parse_condition(body, source, errors, level + 1)
        return Node("not", (child,), line) if child is not None else None
    if not isinstance(body, list) or not body:
        errors.append(LocatedError(Location(source, line), f"'{kind}' needs a non-empty list"))
        return None
    children = [parse_condition(c, source, errors, level + 1) for c in body]
    good = tuple(c for c in children if c is not None)
    return Node(kind, good, line) if good else None


def _leaf(node: dict[str, Any], source: str, errors: list[LocatedError], line: int | None) -> Leaf | None:
    where = Location(source, line)
    ops = [k for k in node if k != "field"]
    if "field" not in node:
        errors.append(LocatedError(where, "a field test needs 'field' (or use all/any/not)"))
        return None
    unknown = [k for k in ops if k not in OPERATORS]
    if unknown or len(ops) != 1:
        problem = f"unknown operator {unknown[0]!r}" if unknown else "exactly one operator is needed"
        errors.append(LocatedError(where, f"{problem}; operators are: {', '.join(OPERATORS)}"))
        return None
    op = ops[0]
    value = node[op]
    if op in (*SET_OPS, *LIST_OPS, *GROUP_OPS):
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, dict | list) or v is None for v in values):
            errors.append(LocatedError(where, f"{op} needs a value or a list of plain values"))
            return None
        value = tuple(values)
    elif op == "exists":
        if not isinstance(value, bool):
            errors.append(LocatedError(where, "exists takes true or false"))
            return None
    elif isinstance(value, dict | list) or value is None:
        errors.append(LocatedError(where, f"{op} needs one plain value"))
        return None
    return Leaf(str(node["field"]), op, value, line, line_of(node, op))


def _examples(node: Any, source: str, errors: list[LocatedError], line: int | None) -> tuple[Example, ...]:
    if node is None:
        return ()
    if not isinstance(node, dict) or set(node) - {"fire", "no_fire"}:
        errors.append(LocatedError(Location(source, line, field="examples"), "examples has keys fire and no_fire"))
        return ()
    found = []
    for key in ("fire", "no_fire"):
        cases = node.get(key) or []
        if not isinstance(cases, list):
            at = Location(source, line_of(node, key), field=f"examples.{key}")
            errors.append(LocatedError(at, f"examples.{key} must be a list of examples"))
            continue
        for case in cases:
            if not isinstance(case, dict):
                at = Location(source, line_of(node, key), field=f"examples.{key}")
                errors.append(LocatedError(at, "each example is a mapping of fact field to value"))
                continue
            found.append(Example(key == "fire", dict(case), line_of(case)))
    return tuple(found)
