"""What every HTML report of the tool shares: the page shell (a strict Content-Security-Policy,
inline CSS, the self-check script), text escaping, tables, legends and the colours.

A report is one self-contained file opened offline: nothing (fonts, scripts, styles,
images) is fetched from anywhere, and the browser is told to refuse any fetch. Every text
that came from input (names, ids, evidence) goes through `text`: HTML-escaped, with
control, bidi and other invisible characters shown as escapes (`\\u202e`), never obeyed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ..io.safe_text import terminal_text

# One colour per decision, and a rule's bar takes the colour of its own action
COLORS = {"hold": "#c0392b", "inspect": "#e6a100", "release": "#3a8f5c"}
OTHER = "#7f8c8d"  # an action or decision the report does not know (never from the engine)


def text(value: Any) -> str:
    """Untrusted text as HTML: control and invisible characters escaped, then HTML-escaped
    (quotes too, so the result is safe in an attribute)."""
    return escape(terminal_text("" if value is None else value))


def short(value: Any, limit: int) -> str:
    """`text` of at most `limit` characters (an ellipsis marks the cut)."""
    plain = terminal_text("" if value is None else value)
    return escape(plain if len(plain) <= limit else plain[: limit - 1] + "…")


def num(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value if value is not None else "–")


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def color(name: str) -> str:
    return COLORS.get(name, OTHER)


def badge(name: str) -> str:
    """A decision or an action as a coloured word."""
    return f'<span class="badge" style="background:{color(name)}">{text(name)}</span>'


def legend(items: Iterable[tuple[str, str]], title: str = "") -> str:
    """Colour swatches with their labels (`items`: label, colour)."""
    head = f"<b>{text(title)}</b> " if title else ""
    swatches = "".join(f'<span class="swatch" style="background:{c}"></span>{text(label)} ' for label, c in items)
    return f'<p class="legend">{head}{swatches}</p>'


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], raw: frozenset[int] = frozenset(), cls: str = "") -> str:
    """A table; every cell is escaped (`text` of `num`) except the columns in `raw`,
    which the caller built as HTML from escaped parts. Numbers align right; `cls`
    "text" aligns every column left."""
    body = "".join(
        "<tr>" + "".join(f"<td>{c if n in raw else text(num(c))}</td>" for n, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    if not body:
        return '<p class="note">None.</p>'
    opening = f'<table class="{cls}">' if cls else "<table>"
    return (
        opening
        + "<thead><tr>"
        + "".join(f"<th>{text(h)}</th>" for h in head)
        + f"</tr></thead><tbody>{body}</tbody></table>"
    )


def page(title: str, body: Iterable[str], css: str = "") -> str:
    """The whole document: `title` is escaped here, `body` parts are HTML already."""
    head = f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{text(title)}</title>{CSP}'
    parts = [f"{head}<style>{CSS}{css}</style></head><body><h1>{text(title)}</h1>", *body]
    return "\n".join([*parts, f"<script>{CHECK_SCRIPT}</script></body></html>"])


# The browser itself then refuses any fetch, so a stray reference can never leak an analyst's view
CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:960px;color:#222}
h1{margin:0 0 8px}h2{margin:28px 0 8px;font-size:18px;border-bottom:1px solid #ddd}h3{margin:4px 0;font-size:15px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}.meta dt{color:#666}.meta dd{margin:0}
.cards{display:flex;gap:12px;margin:16px 0}.card{flex:1;border:1px solid #ccc;border-left-width:6px;padding:8px 12px}
.card b{display:block;font-size:22px}.note{color:#666;font-size:13px}
.legend{margin:4px 0}.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}
.badge{color:#fff;border-radius:3px;padding:0 5px;font-size:12px;white-space:nowrap}
svg.chart,svg.graph{max-width:100%;height:auto;font-size:12px}svg.chart .grid{stroke:#e3e3e3}
table{border-collapse:collapse;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left;word-break:break-word}th{background:#f5f5f5}
table.text th,table.text td{text-align:left;vertical-align:top}
"""

# Proof for tests and for anyone suspicious: the charts and graphs the browser actually laid
# out with a visible shape, the in-page links whose target exists, the listed declarations
CHECK_SCRIPT = """(function(){function drawn(sel){var n=0;document.querySelectorAll(sel).forEach(function(s){
var b=s.getBoundingClientRect();if(!(b.width>0&&b.height>0))return;
if(Array.prototype.some.call(s.querySelectorAll('rect'),function(r){var q=r.getBoundingClientRect();
return q.width>0&&q.height>0;}))n++;});return String(n);}var d=document.body.dataset;
d.chartsDrawn=drawn('svg.chart');d.graphsDrawn=drawn('svg.graph');
var a=document.querySelectorAll('a[href^="#"]'),ok=0;a.forEach(function(x){
if(document.getElementById(x.getAttribute('href').slice(1)))ok++;});d.anchors=ok+'/'+a.length;
d.listed=String(document.querySelectorAll('article.listed').length);})();"""
