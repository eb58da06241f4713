"""The report's list of held and inspected declarations: an index, then one entry per
declaration with its rules (action, score, item line, evidence in short), its parties'
evidence (registry match, watchlist) and its link paths drawn as small graphs.

In-page anchors only, numbered by position (`d3`, `d3-exporter`, `d3-consignee`,
`d3-links`): a declaration id is untrusted text and never becomes an id or a URL.
The graphs are drawn from the evidence the findings carry (`parties.linked`,
`parties.linked_weak`, `parties.link_path_length`, `parties.linked_by_address`).
"""

from __future__ import annotations

from typing import Any

from .aggregate import FlaggedList, Listed
from .html_parts import badge, color, num, short, table, text
from .svg import Edge, Node, link_graph
from .tables import evidence_text

LINK_FIELDS = {
    "parties.linked": "a shared person",
    "parties.linked_weak": "persons matching only up to initials (weak)",
    "parties.link_path_length": "a path through companies",
    "parties.linked_by_address": "a path through a shared address (weak)",
    "exporter.risk_link_length": "a path to a risk company",
    "consignee.risk_link_length": "a path to a risk company",
}
EVIDENCE_LINE = 220  # characters of one evidence line in a rule's row; the party blocks say the rest
GRAPH_PERSONS = 6  # shared persons drawn in one graph; the steps listed below it name them all
ROLES = ("exporter", "consignee")

CSS = """
article.listed{border:1px solid #ddd;border-left:6px solid #999;padding:6px 12px;margin:14px 0}
article.listed .parties{margin:2px 0 6px}article.listed td:first-child{min-width:180px}
table.index td:first-child{white-space:nowrap}
.evidence{font-size:12px;color:#444;white-space:pre-wrap;text-align:left}
.blocks{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px}.block dl{display:grid;
grid-template-columns:max-content 1fr;gap:0 10px;margin:4px 0;font-size:13px}.block dt{color:#666}
.block dd{margin:0;word-break:break-word}.links{grid-column:1/3}.links ol{font-size:13px;margin:4px 0}
"""


def section(flagged: FlaggedList) -> str:
    entries = flagged.entries()
    total = sum(flagged.seen.values())
    cap = (
        f"The first {len(entries):,} of {total:,} by decision (holds first), then score, then input order; "
        f"{flagged.left_out:,} more are not listed here (--out writes every decision)."
        if flagged.left_out
        else f"All {total:,}, holds first, then by score."
    )
    index = table(
        ["#", "Declaration", "Decision", "Score", "Date", "Exporter", "Consignee", "To", "Rules"],
        [(n, f'<a href="#d{n}">{text(e.declaration_id)}</a>', badge(e.decision), e.score, e.date, e.exporter,
          e.consignee, e.destination_country, len(e.findings)) for n, e in enumerate(entries, 1)],
        raw=frozenset({1, 2}),
        cls="text index",
    )  # fmt: skip
    parts = [f'<h2 id="flagged">Held and inspected declarations ({total:,})</h2><p class="note">{cap}</p>', index]
    parts += [article(n, e) for n, e in enumerate(entries, 1)]
    return "\n".join(parts)


def article(n: int, entry: Listed) -> str:
    anchor = f"d{n}"
    links = link_evidence(entry.findings)
    refs = [f'<a href="#{anchor}-{role}">{role}</a>' for role in ROLES]
    if links:
        refs.append(f'<a href="#{anchor}-links">link path</a>')
    rows = [finding_row(anchor, f, bool(links)) for f in entry.findings]
    tests = (
        f'<p class="note">Rules in test (never counted) also found: {text(", ".join(entry.test_rule_ids))}.</p>'
        if entry.test_rule_ids
        else ""
    )
    blocks = [party_block(anchor, role, entry) for role in ROLES]
    if links:
        blocks.append(links_block(anchor, links))
    return (
        f'<article class="listed" id="{anchor}" style="border-left-color:{color(entry.decision)}">'
        f"<h3>{n}. {text(entry.declaration_id)} {badge(entry.decision)} score {text(num(entry.score))}</h3>"
        f'<p class="parties">{text(entry.date)}: {text(entry.exporter)} → {text(entry.consignee)} '
        f'({text(entry.destination_country)}) · evidence: {" · ".join(refs)} · <a href="#flagged">index</a></p>'
        + table(["Rule", "Action", "Score", "Line", "Why", "See"], rows, raw=frozenset({0, 1, 4, 5}), cls="text")
        + tests
        + f'<div class="blocks">{"".join(blocks)}</div></article>'
    )


def finding_row(anchor: str, finding: dict[str, Any], linked: bool) -> tuple[Any, ...]:
    evidence = finding.get("evidence") or {}
    lines = evidence_text(evidence).splitlines() if isinstance(evidence, dict) else [str(evidence)]
    why = "\n".join(short(line, EVIDENCE_LINE) for line in lines)
    title = f"{text(finding.get('rule_id'))}<br><small>{text(finding.get('title'))}</small>"
    see = " ".join(f'<a href="#{anchor}-{target}">{target.replace("links", "link path")}</a>'
                   for target in targets(evidence, linked))  # fmt: skip
    line = finding.get("item_line")
    return (title, badge(str(finding.get("action"))), finding.get("score"), "–" if line is None else line,
            f'<div class="evidence">{why}</div>', see)  # fmt: skip


def targets(evidence: dict[str, Any], linked: bool) -> list[str]:
    """The evidence blocks a finding refers to: a party's (its facts, or a detail naming
    its role), and the link path."""
    found: list[str] = []
    for name, value in evidence.items():
        kind = name.partition(".")[0]
        role = value.get("role") if isinstance(value, dict) else None
        target = kind if kind in ROLES else role if role in ROLES else "links" if kind == "parties" and linked else None
        drawn = ["links"] if linked and name.endswith(".risk_link_length") else []  # a party's path to risk
        for one in [target, *drawn]:
            if one is not None and one not in found:
                found.append(one)
    return found


def party_block(anchor: str, role: str, entry: Listed) -> str:
    party = entry.parties.get(role) or {}
    shown = entry.exporter if role == "exporter" else entry.consignee
    items: list[tuple[str, Any]] = []
    if party:
        items += [("declared", " · ".join(str(party[k]) for k in ("name", "id", "country") if party.get(k)))]
        match = party.get("match") or "none"
        score = party.get("score")
        items += [("registry match", f"{match}" + (f", score {score:.2f}" if isinstance(score, float) else ""))]
        if party.get("company_id"):
            items += [("registered as", f"{party.get('registered_name')} ({party['company_id']})")]
        items += [("why", party.get("why"))]
    else:
        items += [("declared", shown), ("registry match", "not recorded in this report")]
    listed = party.get("watchlist") or _watch_evidence(entry.findings, role)
    if listed:
        keys = {"listed_name": "listed name", "reason": "reason", "source": "source", "listed_on": "listed on",
                "why": "why listed"}  # fmt: skip
        items += [("watchlist", "listed")] + [(label, listed.get(k)) for k, label in keys.items() if listed.get(k)]
    elif party:
        items += [("watchlist", "not listed")]
    rows = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in items if v not in (None, ""))
    return f'<div class="block" id="{anchor}-{role}"><b>{role.capitalize()}</b>: {text(shown)}<dl>{rows}</dl></div>'


def _watch_evidence(findings: list[dict[str, Any]], role: str) -> dict[str, Any] | None:
    for finding in findings:
        value = (finding.get("evidence") or {}).get(f"{role}.watchlisted")
        if isinstance(value, dict) and value.get("value"):
            return value
    return None


def link_evidence(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The link evidence the findings carry, once per kind of link, in LINK_FIELDS order."""
    found: dict[str, dict[str, Any]] = {}
    for finding in findings:
        for name, value in (finding.get("evidence") or {}).items():
            if name in LINK_FIELDS and isinstance(value, dict) and name not in found:
                found[name] = value
    return {name: found[name] for name in LINK_FIELDS if name in found}


def links_block(anchor: str, links: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, value in links.items():
        columns, edges, steps = shared_graph(value) if "shared_persons" in value else path_graph(value)
        label = _link_label(name, value)
        listed = "".join(f"<li>{text(s)}</li>" for s in steps)
        parts.append(f"<p><b>{text(label)}</b> ({text(name)})</p>{link_graph(columns, edges, label)}<ol>{listed}</ol>")
    return f'<div class="block links" id="{anchor}-links">{"".join(parts)}</div>'


def _link_label(name: str, value: dict[str, Any]) -> str:
    """What a link graph shows: exporter and consignee joined, or one party's path to risk."""
    role, _, fact = name.partition(".")
    if fact != "risk_link_length":
        return f"Exporter and consignee linked by {LINK_FIELDS[name]}"
    found = value.get("risky")
    risky: dict[str, Any] = found if isinstance(found, dict) else {}
    return f"The {role} linked to {risky.get('name')} ({risky.get('why')})"


def shared_graph(value: dict[str, Any]) -> tuple[list[list[Node]], list[Edge], list[str]]:
    """Exporter, the persons both share, consignee: each person joined to both by its roles."""
    shared = [s for s in value.get("shared_persons") or [] if isinstance(s, dict)]
    exporter, consignee = str(value.get("exporter") or "exporter"), str(value.get("consignee") or "consignee")
    persons, edges, steps = [], [], []
    for i, s in enumerate(shared[:GRAPH_PERSONS]):
        how = f"{s.get('method')}, score {num(s.get('score'))}: {s.get('why')}"
        persons.append(Node(str(s.get("person")), "person", f"{s.get('person')} ~ {s.get('consignee_person')} ({how})"))
        edges.append(
            Edge(0, 0, i, str(s.get("exporter_role")), f"{s.get('person')} is {s.get('exporter_role')} of {exporter}")
        )
        edges.append(Edge(1, i, 0, str(s.get("consignee_role")),
                          f"{s.get('consignee_person')} is {s.get('consignee_role')} of {consignee}"))  # fmt: skip
    for s in shared:
        steps.append(f"{s.get('person')} ({s.get('exporter_role')} of {exporter}) = {s.get('consignee_person')} "
                     f"({s.get('consignee_role')} of {consignee}); {s.get('method')}, score {num(s.get('score'))}: "
                     f"{s.get('why')}")  # fmt: skip
    if value.get("note"):
        steps.append(str(value["note"]))
    columns = [
        [Node(exporter, "party", f"exporter: {exporter}")],
        persons,
        [Node(consignee, "party", f"consignee: {consignee}")],
    ]
    return columns, edges, steps


def path_graph(value: dict[str, Any]) -> tuple[list[list[Node]], list[Edge], list[str]]:
    """The path step by step: companies, with a person or an address between two companies
    where that is what joins them, and a role held as a labelled edge."""
    path = [s for s in value.get("path") or [] if isinstance(s, dict)]
    first = str(path[0].get("from") if path else value.get("exporter") or "exporter")
    columns: list[list[Node]] = [[Node(first, "party", f"{first} ({path[0].get('from_id')})" if path else first)]]
    edges: list[Edge] = []

    def joined(node: Node, label: str, detail: str) -> None:
        edges.append(Edge(len(columns) - 1, 0, 0, label, detail))
        columns.append([node])

    for i, step in enumerate(path):
        why = str(step.get("why") or "")
        target = Node(
            str(step.get("to")), "party" if i == len(path) - 1 else "company", f"{step.get('to')} ({step.get('to_id')})"
        )
        if step.get("link") == "person":
            joined(Node(str(step.get("person")), "person", why), str(step.get("from_role")), why)
            joined(
                target,
                str(step.get("to_role")),
                f"{step.get('to_person')} is {step.get('to_role')} of {step.get('to')}",
            )
        elif step.get("link") == "address":
            joined(Node(str(step.get("address")), "address", why), "address", why)
            joined(target, "address", str(step.get("to_address") or ""))
        else:  # a role held: "founder of ←" when the company on the right holds it in the one on the left
            arrow = "←" if step.get("holder") == step.get("to") else "→"
            joined(target, f"{step.get('role') or step.get('link')} of {arrow}", why)
    steps = [f"{s.get('from')} → {s.get('to')} ({s.get('link')}): {s.get('why')}" for s in path]
    return columns, edges, [*steps, f"{value.get('length')} step(s), within links.depth {value.get('depth')}"]
