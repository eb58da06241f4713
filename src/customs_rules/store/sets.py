"""Screened declarations one at a time (a submission, the per-declaration pipeline) as
the `ScreenedSet`s the store writes: the adapter that lets every path store through
one routine (`Store.record_sets`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import orjson
import polars as pl

from ..contract.errors import Location, StorageError
from ..io.safe_text import finite_json
from ..screening.frames import DECISION_SCHEMA, FINDING_SCHEMA, DeclarationSet, ScreenedSet


def screened_sets(screenings: Sequence[Any]) -> list[tuple[ScreenedSet, list[int]]]:
    """The screenings (each with `.declaration`, `.decision`, a `contract.decision.Decision`, and
    `.facts`, one dict per item) as sets of those screened alike (rule set, time and
    registry mark: one set in practice), each with the screenings' places in the list."""
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for place, screening in enumerate(screenings):
        d = screening.decision
        groups.setdefault((d.ruleset_version, d.screened_at, d.without_registry), []).append(place)
    return [(_screened_set([screenings[p] for p in places], *key), places) for key, places in groups.items()]


def _screened_set(screenings: list[Any], version: str, at: str, without: bool) -> ScreenedSet:
    locations = [s.location if isinstance(s.location, Location) else Location() for s in screenings]
    declarations = DeclarationSet.from_declarations([s.declaration for s in screenings], locations)
    decisions = pl.DataFrame(
        [{"decl": n, "declaration_id": s.decision.declaration_id, "decision": s.decision.decision,
          "score": s.decision.score} for n, s in enumerate(screenings)],
        schema=DECISION_SCHEMA,
    )  # fmt: skip
    findings = pl.DataFrame(
        [
            {"decl": n, "rule_id": f.rule_id, "title": f.title, "action": f.action, "score": f.score,
             "item_line": f.item_line, "is_test": is_test, "evidence": json_text(f.evidence), "rank": rank}
            for n, s in enumerate(screenings)
            for is_test, found in ((False, s.decision.findings), (True, s.decision.test_findings))
            for rank, f in enumerate(found)
        ],
        schema=FINDING_SCHEMA,
    )  # fmt: skip
    return ScreenedSet(declarations, decisions, findings, facts_frame([s.facts for s in screenings]), version,
                       dt.datetime.fromisoformat(at), without)  # fmt: skip


def facts_frame(facts: Sequence[Sequence[dict[str, Any]]]) -> pl.DataFrame:
    """Per declaration, one fact dict per item, as the set's facts: one row per item, a
    column per fact field (in the facts' order)."""
    rows = [{"decl": n, "position": p} | fact for n, items in enumerate(facts) for p, fact in enumerate(items)]
    if not rows:
        return pl.DataFrame(schema={"decl": pl.UInt32, "position": pl.UInt32})
    frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    return frame.with_columns(pl.col("decl", "position").cast(pl.UInt32))


def json_text(value: Any) -> str:
    """A value as the JSON text a row keeps (orjson: ~10x the standard library)."""
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:
        # an integer past 64 bits (JSON allows any, and extra fields are kept as given):
        # the standard encoder writes it exactly, and refuses NaN and Infinity itself
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:
            raise StorageError(NOT_FINITE) from exc
    # orjson writes NaN and Infinity as null without a word: where a null came out, make
    # sure it was a None, so stored JSON never silently loses a number
    if b"null" in text and not finite_json(value):
        raise StorageError(NOT_FINITE)
    return text.decode()


NOT_FINITE = "refusing to store a number that is not finite (NaN or Infinity) as JSON"
