"""The history facts rules can read (`engine/history.py` defines them; README, "History
facts"). Windows, cut-off dates and thresholds come from the pack's history settings
(`rules/lists/history.yaml`), and every fact is computed as of the declaration's date."""

from __future__ import annotations

from typing import Any, NamedTuple


class FieldSpec(NamedTuple):
    """A field as `facts.FactField` takes it (facts.py builds them: no import cycle)."""

    name: str
    type: str  # a `facts.FieldType` value
    nullable: bool
    description: str
    example_default: Any = None


FactField = FieldSpec


class T:
    NUMBER, DATE, BOOL = "number", "date", "bool"


def _listed(role: str) -> list[FieldSpec]:
    what = f"listed-goods declarations of this {role} (as {role})"
    return [
        FactField(f"history.{role}_listed_recent_value", T.NUMBER, False,
                  f"value of the listed goods of {what} in the recent window (history.recent_days before the date)", 0),
        FactField(f"history.{role}_listed_recent_count", T.NUMBER, False, f"number of {what} in the recent window", 0),
        FactField(f"history.{role}_listed_baseline_value", T.NUMBER, False,
                  f"value of the listed goods of {what} in the baseline window (history.baseline_days before the "
                  "recent one)", 0),
        FactField(f"history.{role}_listed_baseline_count", T.NUMBER, False, f"number of {what} in the baseline window",
                  0),
        FactField(f"history.{role}_listed_ratio", T.NUMBER, True,
                  "recent value per day over baseline value per day; missing without a baseline value"),
    ]  # fmt: skip


HISTORY_FIELDS: list[FieldSpec] = [
    FactField("history.since", T.DATE, True,
              "date of the earliest declaration in the history before this one (missing: no history); a rule about "
              "what a trader did before a date can ask that the history reaches back that far"),
    FactField("history.exporter_first_listed_on", T.DATE, True,
              "date of the exporter's first listed-goods shipment before this declaration (missing: none)"),
    FactField("history.exporter_listed_before_cutoff", T.BOOL, False,
              "the exporter shipped listed goods before the history settings' cutoff date (default 2022-02-24)",
              False),
    *_listed("exporter"),
    *_listed("consignee"),
    FactField("history.consignee_split_count", T.NUMBER, False,
              "listed-goods declarations to the same consignee within history.split_days before the date", 0),
    FactField("history.consignee_split_value", T.NUMBER, False,
              "value of the listed goods of those declarations", 0),
    FactField("history.exporter_prior_flags", T.NUMBER, False,
              "declarations of the exporter (either role) held, or found seized or irregular by an inspection, "
              "within history.flags_days before the date", 0),
    FactField("history.consignee_prior_flags", T.NUMBER, False,
              "declarations of the consignee (either role) held, or found seized or irregular, within "
              "history.flags_days before the date", 0),
    FactField("item.history_reexport_imports", T.NUMBER, False,
              "on export and re-export: import declarations into the exporter (as consignee) of the same goods "
              "(first history.reexport_digits HS digits) within history.reexport_days before the date", 0),
]  # fmt: skip
