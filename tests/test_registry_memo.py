"""A registry lookup's memos stay bounded over a long run and give the same answers."""

from __future__ import annotations

import pytest

from customs_rules.contract.models import Party
from customs_rules.contract.registry_rows import WatchlistRecord
from customs_rules.entities import registry as registry_module
from customs_rules.entities.registry import RegistryIndex

WATCH = [
    WatchlistRecord.model_validate({"name": "Radiokomplekt", "country": "RU", "reason": "reported", "source": "test"}),
    WatchlistRecord.model_validate({"name": "Elektron Snab", "company_id": "7700000001", "reason": "reported"}),
]
# parties met again and again, as a batch meets them: listed by name, by id, and not listed
PARTIES = [
    Party(name="ООО Радиокомплект", country="RU"),
    Party(name="Radiokomplekt LLC", country="RU"),
    Party(name="Radiokomplekt", country="KZ"),
    Party(name="Someone Else", id="7700000001", country="RU"),
    Party(name="Tenir Tech", country="KG"),
    *[Party(name=f"Trader Number {n}", country="KZ") for n in range(12)],
]


def test_watchlist_memos_are_bounded_and_answer_as_a_fresh_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [RegistryIndex([], [], WATCH).watchlisted(party, None) for party in PARTIES]
    assert expected[0] is not None and expected[3] is not None and expected[4] is None
    monkeypatch.setattr(registry_module, "ANSWERS_KEPT", 4)
    lookup = RegistryIndex([], [], WATCH)
    for _ in range(3):  # every memo fills and starts afresh several times
        assert [lookup.watchlisted(party, None) for party in PARTIES] == expected
        assert len(lookup._listed) <= 4 and len(lookup._watch_hits) <= 4


def test_party_memo_is_bounded_and_answers_as_a_fresh_lookup(
    small_registry: RegistryIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = RegistryIndex(list(small_registry.companies.values()), [], [])
    expected = [fresh.resolve(party) for party in PARTIES]
    monkeypatch.setattr(registry_module, "ANSWERS_KEPT", 3)
    lookup = RegistryIndex(list(small_registry.companies.values()), [], [])
    for _ in range(3):
        assert [lookup.resolve(party) for party in PARTIES] == expected
        assert len(lookup._cache) <= 3
