"""The batch HTML report: its content from counters, and that a real browser draws its charts."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from customs_rules.report.html import COLORS, Aggregate, time_buckets, write_report

CHROMIUM = "/usr/bin/chromium"
EVIL = "<script>alert(1)</script>"
META = {
    "title": "Batch <b>big.csv</b>",
    "inputs": ["big.csv", "more & more.csv"],
    "screened_at": "2024-03-01T10:00:00+00:00",
    "ruleset_version": "2024.03-abc123",
    "lines": 303,
    "screened_lines": 301,
    "rejected_lines": 2,
    "screened": 300,
    "rejected": 3,
}


def rows(n: int = 300, days: int = 40) -> Iterator[dict[str, Any]]:
    """Deterministic rows: every 10th held by `sanctions.watchlist` (a hold rule); every 3rd
    otherwise inspected by `valuation.low_price` (an inspect rule), which also finds on every
    20th row, held or not; every 30th row shares a person with its consignee."""
    for i in range(n):
        held, inspected = i % 10 == 0, i % 3 == 0 and i % 10 != 0
        found = (["sanctions.watchlist"] if held else []) + (
            ["valuation.low_price"] if inspected or i % 20 == 0 else []
        )
        exporter = EVIL if i % 7 == 0 else f"Exporter {i % 30}"
        row = {
            "declaration_id": f"D{i:05d}",
            "date": (date(2024, 1, 1) + timedelta(days=i % days)).isoformat(),
            "decision": "hold" if held else "inspect" if inspected else "release",
            "score": 90.0 + i % 4 if held else 40.0 if inspected else 0.0,
            "rule_ids": found,
            "rule_actions": ["hold" if r == "sanctions.watchlist" else "inspect" for r in found],
            "exporter": exporter,
            "consignee": f"Consignee {i % 11} & Sons",
            "destination_country": ("KZ", "RU", "CN", "DE")[i % 4],
        }
        if held or inspected:
            row["findings"] = [finding(r, exporter, f"Consignee {i % 11} & Sons", i % 30 == 0) for r in found]
            row["parties"] = {"exporter": {"name": exporter, "id": "123", "country": "KZ", "match": "id", "score": 1.0,
                                           "why": "id 123 in the registry", "company_id": "123",
                                           "registered_name": exporter, "watchlist": None},
                              "consignee": {"name": row["consignee"], "match": "none", "score": 0.0,
                                            "why": "not found", "watchlist": None}}  # fmt: skip
        yield row


def finding(rule_id: str, exporter: str, consignee: str, linked: bool) -> dict[str, Any]:
    evidence: dict[str, Any] = {"exporter.watchlisted": {"value": True, "listed_name": exporter, "reason": EVIL}}
    if linked:
        person = {"person": "Goldberg <Ilya>", "exporter_role": "founder", "consignee_person": "Гольдберг Илья",
                  "consignee_role": "director", "score": 1.0, "method": "name", "why": "same tokens"}  # fmt: skip
        evidence["parties.linked"] = {"value": True, "exporter": exporter, "consignee": consignee,
                                      "shared_persons": [person]}  # fmt: skip
    hold = rule_id == "sanctions.watchlist"
    return {"rule_id": rule_id, "title": f"{rule_id} title", "action": "hold" if hold else "inspect",
            "score": 90.0 if hold else 40.0, "item_line": None if hold else 1, "evidence": evidence}  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "out.html"
    write_report(path, rows(), META)  # a generator: the writer must manage with one pass
    return path


def test_totals_and_rule_table(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    # 300 rows: 30 holds (i % 10 == 0), 90 inspects (i % 3 == 0 but not i % 10 == 0), 180 releases
    assert "<b>30</b>hold (10.0%)" in html
    assert "<b>90</b>inspect (30.0%)" in html
    assert "<b>180</b>release (60.0%)" in html
    # each rule with its own action, then the final decisions of what it found: 15 of the 30 rows
    # where i % 20 == 0 are held (i % 10 == 0 always), the other rows i % 20 == 0 are not there
    assert "<td>sanctions.watchlist</td><td>hold</td><td>30</td><td>30</td><td>0</td><td>0</td>" in html
    assert "<td>valuation.low_price</td><td>inspect</td><td>105</td><td>15</td><td>90</td><td>0</td>" in html
    assert "<td>KZ Kazakhstan</td>" in html
    assert "2024.03-abc123" in html and "more &amp; more.csv" in html
    # lines and declarations are never mixed under one word
    for label, value in (("Lines read", 303), ("Lines screened", 301), ("Lines rejected", 2),
                         ("Declarations screened", 300), ("Declarations rejected", 3)):  # fmt: skip
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html


def test_every_text_is_escaped_and_nothing_is_fetched(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>big.csv</b>" not in html and "Batch &lt;b&gt;big.csv&lt;/b&gt;" in html
    assert "&amp; Sons" in html
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", html)
    assert html.count("<script>") == 1  # only the chart check, at the end
    assert "Goldberg &lt;Ilya&gt;" in html and "Goldberg <Ilya>" not in html  # in the link graphs too


def test_charts_are_inline_svg_with_bar_counts(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    charts = re.findall(r'<svg class="chart" data-bars="(\d+)"', html)
    # holds per day, inspections per day, all declarations per day: 40 days, no gaps; a bar per rule
    assert charts == ["40", "40", "40", "2"]


def test_rule_bars_take_the_colour_of_the_rules_own_action(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    rules_chart = html[html.index("<h2>Rules that found") :].split("</svg>")[0]
    bars = dict(re.findall(r'<rect class="bar"[^>]* fill="(#[0-9a-f]{6})"><title>([\w.]+):', rules_chart))
    # valuation.low_price found on 15 held declarations: still drawn as the inspect rule it is
    assert {v: k for k, v in bars.items()} == {
        "sanctions.watchlist": COLORS["hold"], "valuation.low_price": COLORS["inspect"],
    }  # fmt: skip
    assert "hold rule" in rules_chart.split("<svg")[0] and "inspect rule" in rules_chart.split("<svg")[0]  # legend


def test_holds_and_inspections_have_a_scale_of_their_own(tmp_path: Path) -> None:
    data = [{"declaration_id": str(i), "date": "2024-01-01", "decision": "hold" if i == 0 else "release",
             "score": 1.0, "rule_ids": []} for i in range(1000)]  # fmt: skip
    path = tmp_path / "r.html"
    write_report(path, data, {"title": "t"})
    html = path.read_text(encoding="utf-8")
    holds = html[html.index('aria-label="Holds per day"') :].split("</svg>")[0]
    # one hold among 1,000 releases fills its own chart to the top of its axis (0, 1)
    (height,) = re.findall(r'<rect class="bar"[^>]* height="([\d.]+)" fill="#c0392b"', holds)
    assert float(height) == 200 - 16 - 46  # the whole plot height of the 200-pixel chart
    assert re.findall(r'text-anchor="end">([\d,]+)</text>', holds) == ["0", "1"]


def test_top_n_and_only_flagged_parties(tmp_path: Path) -> None:
    data = [
        {"declaration_id": str(i), "date": "2024-01-01", "decision": "inspect" if i < 50 else "release",
         "score": 1.0, "rule_ids": ["r"], "exporter": f"Ex{i:03d}", "consignee": "C", "destination_country": "KZ"}
        for i in range(100)
    ]  # fmt: skip
    path = tmp_path / "r.html"
    write_report(path, data, {"title": "t"})
    html = path.read_text(encoding="utf-8")
    section = html[html.index("<h2>Exporters") : html.index("<h2>Consignees")]
    exporters = set(re.findall(r"<td>(Ex\d+)</td>", section))
    assert len(exporters) == 20 and all(int(e[2:]) < 50 for e in exporters)


def test_long_ranges_group_by_week_then_month() -> None:
    def days(span: int) -> dict[date, list[int]]:
        return {date(2020, 1, 1) + timedelta(days=d): [0, 0, 1] for d in range(0, span + 1, 5)}

    assert time_buckets(days(60))[0] == "day"
    unit, weeks = time_buckets(days(400))
    assert unit == "week" and len(weeks) <= 60 and sum(v[2] for _, v in weeks) == len(days(400))
    unit, months = time_buckets(days(2000))
    assert unit == "month" and months[0][0] == "2020-01" and len(months) == 66


def test_unknown_decision_is_an_error() -> None:
    with pytest.raises(ValueError, match="maybe"):
        Aggregate().add({"declaration_id": "x", "decision": "maybe"})


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    def peak(n: int) -> int:
        tracemalloc.start()
        write_report(tmp_path / "m.html", rows(n), META)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    small, large = peak(2_000), peak(40_000)
    assert large < small * 1.5 + 200_000, (small, large)


# --- in a real browser -------------------------------------------------------------------------


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs the Debian package 'chromium'")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); CI installs it and runs this test")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=True)


def test_browser_draws_every_chart(report: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    # The page's own script sets this after measuring each svg.chart and its rects as laid out
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:2000]
    found = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    html = report.read_text(encoding="utf-8")
    assert int(found["charts-drawn"]) == html.count('<svg class="chart"') == 4
    assert int(found["graphs-drawn"]) == html.count('<svg class="graph"') >= 1  # the link graphs
    links = len(re.findall(r'<a href="#', html))
    assert found["anchors"] == f"{links}/{links}" and links > 100  # every in-page link has its target
    assert int(found["listed"]) == html.count('<article class="listed"') == 120  # 30 holds + 90 inspections


def test_screenshot_shows_the_bars(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", report.as_uri())
    width, height, colors = png_colors(png)
    assert (width, height) == (1280, 2000) and len(colors) > 20  # not a blank page
    for name, hex_color in COLORS.items():
        want = bytes.fromhex(hex_color[1:])
        painted = sum(n for c, n in colors.items() if max(abs(a - b) for a, b in zip(c, want, strict=True)) <= 6)
        # Legend swatches and card borders use these colours too, but only bars cover thousands of pixels
        assert painted > 5_000, (name, painted)


def png_colors(path: Path) -> tuple[int, int, Counter[bytes]]:
    """Pixel count per RGB colour of an 8-bit RGB(A) PNG; plain zlib, since Pillow is no dependency here."""
    data = path.read_bytes()
    width, height, depth, ctype = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    pos, idat = 8, bytearray()
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + size]
        pos += 12 + size
    raw, bpp = zlib.decompress(bytes(idat)), 3 if ctype == 2 else 4
    stride, prev, colors = width * bpp, bytearray(width * bpp), Counter[bytes]()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride) if kind else ():  # undo the PNG row filter (Sub, Up, Average, Paeth)
            a, b = line[i - bpp] if i >= bpp else 0, prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 4:
                p = a + b - c
                a = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
            line[i] = (line[i] + (a if kind in (1, 4) else b if kind == 2 else (a + b) // 2)) & 255
        colors.update(bytes(line[i : i + 3]) for i in range(0, stride, bpp))
        prev = line
    return width, height, colors
