# Cyrillic names are the point of these tests.
# ruff: noqa: RUF001
"""`NameBound` rules a name out only when `names.compare` scores it below the threshold
against every listed name (issue #13: the watchlist searched by columns first)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.entities import name_bound, name_text, names
from customs_rules.entities.name_bound import NameBound

WORDS = ["Aspan", "Arba", "Аспан", "Арба", "AspanArba", "Nebesnaya", "Небесная", "Mekhanika", "Механика",
         "Trading", "Трейдинг", "Treiding", "Bridge", "Бридж", "Gulf", "Галф", "Ivanov", "Иванова", "Ivanova",
         "Petrovich", "Петрович", "O.", "I.", "TOO", "ТОО", "LLP", "Ltd", "ООО", "Ала", "Тоо", "Агромаш",
         "Ala-Too", "Kaspiy", "Kaspii", "Каспий", "Logistika", "Logistica", "Drugoe", "Другое", "Совсем",
         "Holding", "Group", "Tech", "Tekh", "14", "Ёлка", "Yolka", "Жер", "Zher", "Ilya", "Илья", "Navtech",
         "Навтех", "Company", "Co", "Ala Too", "Агромаш", "Agromash", "Ала-Тоо"]  # fmt: skip
NAME = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
TYPO = st.tuples(NAME, st.integers(0, 30)).map(lambda p: p[0][: p[1]] + p[0][p[1] + 1 :] or p[0])
THRESHOLDS = st.sampled_from([names.DEFAULT_THRESHOLD, 0.95, 0.88, 0.86, 0.8])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listed=st.lists(st.one_of(NAME, TYPO), min_size=1, max_size=4), asked=st.one_of(NAME, TYPO),
       threshold=THRESHOLDS)  # fmt: skip
def test_a_name_ruled_out_matches_no_listed_name(listed: list[str], asked: str, threshold: float) -> None:
    if not NameBound(listed, threshold).may_match(asked):
        assert all(names.compare(asked, x).score < threshold for x in listed)


def test_the_bound_rules_out_names_with_a_word_nothing_listed_resembles() -> None:
    bound = NameBound(["ТОО «Аспан Арба»", "Совсем Другое"], names.DEFAULT_THRESHOLD)
    assert bound.may_match("Aspan Arba LLP")  # the same words in Latin
    assert bound.may_match("AspanArba")  # glued
    assert bound.may_match("Совсем Друго")  # one letter short
    assert not bound.may_match("Bereke Tekhnika")
    assert not bound.may_match("Altyn Arba")  # one word listed, one not
    assert NameBound(["Совсем Другое"], 0.8).may_match("Altyn Arba")  # below the cap, no bound is claimed


def test_every_reading_and_leftover_compare_allows_is_let_through() -> None:
    for listed, asked in [
        ("Gulf Navtech", "Галф Навтех"),  # an English word written in Cyrillic
        ("Bridge Trading", "Бридж Трейдинг"),  # trade words from the table
        ("Ivanov Ilya", "Ivanov Ilya Petrovich"),  # a patronymic left over
        ("Ala-Too Agromash", "Ala Too Agromash"),  # a legal form's word inside the name
        ("Ала-Тоо Агромаш", "Ala Too Agromash"),
    ]:
        assert names.compare(asked, listed).score >= names.DEFAULT_THRESHOLD, (listed, asked)
        assert NameBound([listed], names.DEFAULT_THRESHOLD).may_match(asked), (listed, asked)


def test_its_memos_stay_bounded_and_answer_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = ["ТОО «Аспан Арба»", "Совсем Другое", "Bridge Trading"]
    asked = [f"{a} {b} {n}" for a in WORDS[:12] for b in WORDS[12:24] for n in range(3)]
    expected = [NameBound(listed, names.DEFAULT_THRESHOLD).may_match(name) for name in asked]
    monkeypatch.setattr(name_bound, "KEPT", 5)
    small = NameBound(listed, names.DEFAULT_THRESHOLD)
    assert [small.may_match(name) for name in asked] == expected
    assert len(small._near) <= 5 + 4 and len(small._glue) <= 5 + 4  # a name's own tokens on top
    assert not all(expected) and any(expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listed=st.lists(st.one_of(NAME, TYPO), min_size=1, max_size=4),
       asked=st.lists(st.one_of(NAME, TYPO, st.just(""), st.just("  ")), max_size=12), threshold=THRESHOLDS)  # fmt: skip
def test_the_column_form_answers_as_each_name_asked_alone(
    listed: list[str], asked: list[str], threshold: float
) -> None:
    """`may_match_column` (a batch's names at once: tokens, pairs and legal forms by
    joins) gives `may_match` of each name, with or without the exact keys handed to it."""
    want = [NameBound(listed, threshold).may_match(name) for name in asked]
    bound = NameBound(listed, threshold)
    assert bound.may_match_column(pl.Series(asked, dtype=pl.Utf8)).to_list() == want
    keys = pl.Series([names.spelling_keys(name)[0] for name in asked], dtype=pl.Utf8)
    assert bound.may_match_column(pl.Series(asked, dtype=pl.Utf8), keys).to_list() == want  # its memos warm


def test_the_column_form_finds_glued_and_spared_names() -> None:
    bound = NameBound(["ТОО «Аспан Арба»", "Ala-Too Agromash", "Совсем Другое"], names.DEFAULT_THRESHOLD)
    asked = ["AspanArba", "Aspan Arba", "Bereke Tekhnika", "Ала Тоо Агромаш", "Altyn Arba", "Aspan Ar Ba"]
    assert bound.may_match_column(pl.Series(asked)).to_list() == [bound.may_match(name) for name in asked]
    assert bound.may_match_column(pl.Series(asked)).to_list()[:3] == [True, True, False]


FORM_WORDS = sorted(name_text._FORM_WORDS)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(WORDS),
            st.sampled_from(FORM_WORDS),
            st.sampled_from(FORM_WORDS).map(str.upper),
            st.sampled_from(FORM_WORDS).map(lambda w: ".".join(w.upper()) + "."),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_word_dropped_inside_a_name_that_it_also_keeps_is_a_form_piece(words: list[str]) -> None:
    """`may_match_column` asks the legal forms of a name only when one of its tokens is a
    piece of a form word: the only tokens `_strip` can drop from inside a name (and the
    name still keep elsewhere)."""
    name = " ".join(words)
    spare, toks = name_text._strip(name)[1], name_text._tokens(name)
    pieces = set(name_bound._form_pieces().to_list())
    if not spare.isdisjoint(toks):
        assert any(t in pieces for t in toks), (name, spare, toks)
    assert all(t in pieces for t in spare), (name, spare)
