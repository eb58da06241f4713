"""The facts rules can read: one schema shared by enrichment, the rule validators,
the compiler and the example runner.

Enrichment produces one fact per goods item, holding the declaration's header facts,
the parties' registry facts and the item's own facts, so a rule can combine them.
A field is `nullable` when enrichment may not know it (an unknown exporter has no
registration date); comparisons on a missing value are false (see README, "Rules").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .history_facts import HISTORY_FIELDS


class FieldType(StrEnum):
    TEXT = "text"
    COUNTRY = "country"
    COUNTRY_LIST = "country_list"
    HS = "hs"
    NUMBER = "number"
    DATE = "date"
    BOOL = "bool"
    TEXT_LIST = "text_list"  # names (of keyword lists): `in_list` asks for one of them


# Fields read as a list of names (`exists` asks for a non-empty one), not a single value.
LIST_TYPES = frozenset({FieldType.COUNTRY_LIST, FieldType.TEXT_LIST})


@dataclass(frozen=True)
class FactField:
    name: str
    type: FieldType
    nullable: bool
    description: str
    example_default: Any = None  # what a rule example gets when it does not say
    # Weak evidence (initials, a shared address) may send a declaration to inspection,
    # never hold it on its own: the validators keep rules reading it below hold.
    weak: bool = False

    @property
    def item_level(self) -> bool:
        """Rules reading an item field find per item; the others per declaration."""
        return self.name.startswith("item.")


T = FieldType


def _party(role: str) -> list[FactField]:
    return [
        FactField(f"{role}.name", T.TEXT, False, f"{role}'s name as declared", "Example Trader LLP"),
        FactField(f"{role}.id", T.TEXT, True, f"{role}'s declared id (BIN, INN...)"),
        FactField(f"{role}.country", T.COUNTRY, True, f"{role}'s declared or registered country"),
        FactField(f"{role}.known", T.BOOL, False, f"{role} was found in the registry", True),
        FactField(f"{role}.match", T.TEXT, False, "how it was found: id, name, alias or none", "id"),
        FactField(f"{role}.registered_on", T.DATE, True, f"{role}'s registration date"),
        FactField(f"{role}.watchlisted", T.BOOL, False, f"{role} is on the watchlist", False),
        FactField(
            f"{role}.id_valid",
            T.BOOL,
            True,
            f"{role}'s declared id passes its checksum (BIN/IIN, INN/OGRN); missing when no scheme applies",
        ),  # fmt: skip
    ]


# The party of a declaration that the (Kazakh) registry is about: the exporter on export
# and re-export, the consignee on import. A transit declaration has none (both parties are
# foreign; the goods only cross), so these facts are missing and profile rules stay silent.
DOMESTIC_ROLE = {"export": "exporter", "re-export": "exporter", "import": "consignee"}


def _domestic_party() -> list[FactField]:
    """The domestic party's profile facts: missing on transit (see DOMESTIC_ROLE)."""
    who = "domestic party (exporter on export and re-export, consignee on import)"
    return [
        FactField("domestic_party.role", T.TEXT, True, f"which party is the {who}", "exporter"),
        FactField("domestic_party.name", T.TEXT, True, f"the {who}: name as declared", "Example Trader LLP"),
        FactField("domestic_party.id", T.TEXT, True, f"the {who}: declared id"),
        FactField("domestic_party.known", T.BOOL, True, f"the {who} was found in the registry", True),
        FactField("domestic_party.registered_on", T.DATE, True, f"the {who}: registration date"),
    ]


def _registry_risk(role: str) -> list[FactField]:
    """Red flags the registry shows of one party, whatever the other party (settings in
    `rules/lists/history.yaml`; `engine.party_risk` defines them)."""
    return [
        FactField(
            f"{role}.forwarder", T.BOOL, True,
            f"the {role}'s registered activity codes include freight forwarding or logistics "
            "(history.forwarding_activities, matched by code prefix); missing when the "
            f"{role} is unknown or has no activity codes",
            False,
        ),
        FactField(
            f"{role}.address_companies", T.NUMBER, True,
            f"registry companies registered at the {role}'s normalised address, itself included "
            f"(every one, however many); missing when the {role} is unknown or has no address: "
            "weak evidence",
            weak=True,
        ),
        FactField(
            f"{role}.risk_link_length", T.NUMBER, True,
            f"fewest steps (1 to the policy's links.depth) from the {role} to another registry company "
            "registered in a country of history.risk_links.country_groups (default ru_by) or named by "
            "a watchlist entry, through shared persons and roles held by companies (never an address "
            "alone), whatever the other party; missing when none",
        ),
    ]  # fmt: skip


def _description_fields() -> list[FactField]:
    """What the goods description names (keyword lists, `entities.goods_text`)."""
    return [
        FactField(
            "item.description_lists",
            T.TEXT_LIST,
            True,
            "the keyword lists (rules/lists, kind keyword_list) whose words the goods description "
            "uses to name the goods; missing when there is no description",
            [],
        ),
        FactField(
            "item.description_code_mismatch",
            T.BOOL,
            True,
            "the description names goods of some keyword list, and the declared HS code is under "
            "none of their codes; missing when there is no description",
            False,
        ),
    ]


FIELDS: dict[str, FactField] = {
    f.name: f
    for f in [
        FactField("declaration.procedure", T.TEXT, False, "export, import, re-export or transit", "export"),
        FactField("declaration.document_type", T.TEXT, True, "e.g. customs_declaration, goods_invoice"),
        FactField("declaration.date", T.DATE, False, "the declaration's date", "2024-01-15"),
        FactField("declaration.dispatch_country", T.COUNTRY, False, "country of dispatch", "KZ"),
        FactField("declaration.destination_country", T.COUNTRY, False, "country of destination", "CN"),
        FactField("declaration.transit_countries", T.COUNTRY_LIST, False, "declared transit countries", []),
        FactField("declaration.item_count", T.NUMBER, False, "number of goods items", 1),
        FactField(
            "declaration.total_value",
            T.NUMBER,
            False,
            "sum of the items' declared values (currencies are not converted)",
            1000,
        ),
        *_party("exporter"),
        *_party("consignee"),
        *_domestic_party(),
        FactField("parties.linked", T.BOOL, False, "exporter and consignee share a person", False),
        FactField("parties.shared_persons", T.NUMBER, False, "how many persons they share", 0),
        FactField(
            "parties.linked_weak",
            T.BOOL,
            False,
            "a person of each matches only up to initials (Goldberg I. M. ~ Ilya Goldberg) and no "
            "shared person links them: weak evidence",
            False,
            weak=True,
        ),
        FactField(
            "parties.link_path_length",
            T.NUMBER,
            True,
            "fewest steps joining exporter and consignee through shared persons and roles held by "
            "companies: 1 direct, 2 through one intermediary company (up to the policy's links.depth); "
            "missing when none",
        ),
        FactField(
            "parties.linked_by_address",
            T.BOOL,
            False,
            "no person or role joins them, but a path through a shared registered address does "
            "(1 step: the same address): weak evidence",
            False,
            weak=True,
        ),
        *_registry_risk("exporter"),
        *_registry_risk("consignee"),
        FactField("item.line", T.NUMBER, False, "the item's line number", 1),
        FactField("item.hs_code", T.HS, False, "the item's HS code, digits only", "100199"),
        FactField("item.description", T.TEXT, True, "goods description"),
        FactField("item.quantity", T.NUMBER, True, "quantity"),
        FactField("item.unit", T.TEXT, True, "unit of quantity"),
        FactField("item.value", T.NUMBER, True, "declared value", 1000),
        FactField("item.currency", T.TEXT, True, "ISO 4217 currency", "USD"),
        FactField("item.origin_country", T.COUNTRY, True, "country of origin"),
        FactField("item.net_mass_kg", T.NUMBER, True, "net mass in kg"),
        FactField(
            "item.exporter_activity_covers",
            T.BOOL,
            True,
            "the exporter's registered activities cover the goods (missing when the exporter "
            "is unknown or has no activity codes)",
            True,
        ),
        *_description_fields(),
        FactField(
            "item.domestic_party_activity_covers",
            T.BOOL,
            True,
            "the domestic party's registered activities cover the goods (missing on transit, or when "
            "the domestic party is unknown or has no activity codes)",
            True,
        ),
        *(FactField(s.name, FieldType(s.type), s.nullable, s.description, s.example_default) for s in HISTORY_FIELDS),
    ]
}

NUMERIC_TYPES = frozenset({T.NUMBER, T.DATE})


def encode_date(value: Any) -> int | None:
    """Dates reach the engine as YYYYMMDD integers: its loose typing compares numbers well."""
    if value is None:
        return None
    text = str(value)
    return int(text[:4] + text[5:7] + text[8:10])
