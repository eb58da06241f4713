# Kazakh and Kyrgyz address words are the point of these tests.
# ruff: noqa: RUF001
"""Registered addresses reduced to one key across languages and scripts (issue #12, 1.4)."""

from __future__ import annotations

import pytest

from customs_rules.entities.addresses import address_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Russian, English, Kazakh and Kyrgyz words for street, avenue, house, office, city
        ("г. Алматы, ул. Абая, д. 10, офис 5", "Алматы қ., Абая көшесі, 10 үй, 5 кеңсе"),
        ("Almaty, Abaya street 10, office 5", "Алматы қаласы, Абая көшесі, 10-үй, 5-кеңсе"),
        ("г. Алматы, пр. Достык, 52", "Алматы қ., Достык даңғылы, 52"),
        ("Almaty, Dostyk avenue 52", "Алматы қ., Достық даңғылы 52"),
        ("г. Бишкек, ул. Киевская, д. 77, офис 3", "Бишкек ш., Киевская к., 77-үй, 3-кеңсе"),
        ("Bishkek, Kievskaya street 77, office 3", "Бишкек шаары, Киевская көчөсү, 77 үй, 3 кеңсе"),
        ("г. Бишкек, пр. Чуй, 120", "Бишкек ш., Чуй проспектиси, 120"),
        ("Астана, ул. Кенесары, 40, кв. 2", "Астана қаласы, Кенесары көшесі, 40 үй, 2 пәтер"),
        ("г. Ош, мкр. Анар, д. 5", "Ош шаары, Анар кичи району, 5 үй"),
        ("Алматы обл., г. Конаев, ул. Абая, 3", "Алматы облысы, Қонаев қ., Абая көшесі, 3 үй"),
    ],
)
def test_one_address_in_russian_english_kazakh_and_kyrgyz_gives_one_key(a: str, b: str) -> None:
    assert address_key(a) is not None
    assert address_key(a) == address_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Алматы қ., Абай көшесі, 10 үй", "Алматы қ., Абай көшесі, 12 үй"),  # another house
        ("Бишкек ш., Киевская к., 77-үй", "Бишкек ш., Токтогула к., 77-үй"),  # another street
        ("Алматы қ., Достық даңғылы 52", "Астана қ., Достық даңғылы 52"),  # another city
        # an address word hyphenated to a word is part of a place name: Кичи-Кемин is
        # another village than Кемин (each has its Lenin street)
        ("с. Кичи-Кемин, ул. Ленина, 5", "с. Кемин, ул. Ленина, 5"),
        ("Kichi-Kemin, Lenin street 5", "Kemin, Lenin street 5"),
    ],
)
def test_different_addresses_keep_different_keys(a: str, b: str) -> None:
    assert address_key(a) != address_key(b)


def test_an_address_word_hyphenated_to_a_number_is_still_dropped() -> None:
    assert address_key("Кичи-Кемин, Ленин көчөсү, 5-үй") == address_key("Kichi-Kemin, Lenin street 5")


def test_nothing_identifying_left_gives_no_key() -> None:
    assert address_key("көшесі, үй, кеңсе") is None
