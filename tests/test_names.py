# Cyrillic test data is intended, not confusable Latin.
# ruff: noqa: RUF001
"""Tests for customs_rules.names: cross-script name matching."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customs_rules.names import (
    DEFAULT_THRESHOLD,
    NameMatch,
    blocking_keys,
    compare,
    fold_variants,
    is_match,
    normalize,
    strip_legal_forms,
    tokens,
    transliterate,
)

# Each group holds renderings of one entity; every pair inside must match.
TRUE_GROUPS: list[list[str]] = [
    [
        "Илья Гольдберг",
        "Ilya Goldberg",
        "Iliá Goldberg",
        "GOLDBERG ILYA",
        "Гольдберг Илья Маркович",
        "Ilia Goldberg",
        "Ilja Goldberg",
    ],
    [
        "ООО «Небесная механика»",
        "Nebesnaya Mekhanika",
        "Nebesnaya Mejanica",
        "OOO Nebesnaya Mekhanika",
        "Небесная Механика LLC",
    ],
    ["ТОО «Аспан Арба»", "Aspan Arba LLP", "Aspan Arba TOO", "Аспан Арба"],
    [
        "Шапошников Михаил Андреевич",
        "Mikhail Shaposhnikov",
        "Michail Schaposchnikow",
        "Mijaíl Shaposhnikov",
        "Mikhaïl Chapochnikov",
    ],
    ["Нұрлан Серікұлы Әбдірахманов", "Nurlan Abdirakhmanov"],
]

# Further labelled pairs: (a, b, should_match).
LABELLED: list[tuple[str, str, bool]] = [
    ("Goldbreg Ilya", "Ilya Goldberg", True),
    ("Nurlan Serik uly Abdirakhmanov", "Нұрлан Әбдірахманов", True),
    ("Фёдор Кузнецов", "Fyodor Kuznetsov", True),
    ("Фёдор Кузнецов", "Fjodor Kusnezow", True),
    ("Юрий Петров", "Iouri Petrov", True),
    ("Юрий Петров", "Juri Petrow", True),
    ("Yuriy Petrov", "Yuri Petrov", True),
    ("Алексей Навальный", "Alexei Navalny", True),
    ("Алексей Навальный", "Alexej Nawalny", True),
    ("Екатерина Васильева", "Yekaterina Vasilyeva", True),
    ("Екатерина Васильева", "Jekaterina Wassiljewa", True),
    ("Пётр Чайковский", "Pyotr Tchaikovsky", True),
    ("Пётр Чайковский", "Pjotr Tschaikowski", True),
    ("Пётр Чайковский", "Piotr Tchaïkovski", True),
    ("Дмитрий Жуков", "Dmitry Zhukov", True),
    ("Дмитрий Жуков", "Dmitri Joukov", True),
    ("Евгений Смирнов", "Yevgeny Smirnov", True),
    ("Евгений Смирнов", "Jewgeni Smirnow", True),
    ("Қасым-Жомарт Тоқаев", "Kassym-Jomart Tokayev", True),
    ("Нурсултан Назарбаев", "Nursultan Nazarbayev", True),
    ("ПАО Сбербанк", "Sberbank PJSC", True),
    ("АО «КазМунайГаз»", "KazMunayGas JSC", True),
    ("Aspan Arba LLP", "AspanArba", True),
    ("Ivanov Ivan Ivanovich", "Ivan Ivanov", True),
    ("Ilya Goldman", "Ilya Goldberg", False),
    ("Igor Goldberg", "Ilya Goldberg", False),
    ("Zemnaya Mekhanika", "Nebesnaya Mekhanika", False),
    ("Altyn Arba", "Aspan Arba", False),
    ("Maxim Shaposhnikov", "Mikhail Shaposhnikov", False),
    ("Mikhail Shapovalov", "Mikhail Shaposhnikov", False),
    ("Goldberg I. M.", "Ilya Goldberg", False),
    ("Aspan Arba Plus", "Aspan Arba", False),
    ("Ivan Petrov", "Ivanov Petr", False),
    ("Yuri Petrov", "Yuri Petrovsky", False),
    ("Anna Shaposhnikova", "Anna Shaposhnikov", False),
    ("Dmitry Zhukov", "Dmitry Zhuravlev", False),
    ("Alexei Navalny", "Alexei Nabokov", False),
    ("Fyodor Kuznetsov", "Fyodor Kuzmin", False),
    ("Nurlan Abdirakhmanov", "Nurlan Abdrakhmanov Serikovich Plus", False),
    ("Goldberg", "Ilya Goldberg", False),
    ("ТОО «Аспан Арба»", "ТОО «Аспан Жол»", False),
    ("Sberbank PJSC", "Sovcombank PJSC", False),
    ("Нурсултан Назарбаев", "Нурлан Назарбаев", False),
    ("Yekaterina Vasilyeva", "Yekaterina Vasilenko", False),
]


def _true_pairs() -> list[tuple[str, str]]:
    pairs = [p for g in TRUE_GROUPS for p in itertools.combinations(g, 2)]
    return pairs + [(a, b) for a, b, ok in LABELLED if ok]


def _all_labelled() -> list[tuple[str, str, bool]]:
    return [(a, b, True) for a, b in _true_pairs()] + [p for p in LABELLED if not p[2]]


@pytest.mark.parametrize(("a", "b"), _true_pairs())
def test_true_pairs_match(a: str, b: str) -> None:
    result = compare(a, b)
    assert result.score >= DEFAULT_THRESHOLD, result.detail
    assert is_match(a, b)


@pytest.mark.parametrize(("a", "b"), [(a, b) for a, b, ok in LABELLED if not ok])
def test_decoys_do_not_match(a: str, b: str) -> None:
    result = compare(a, b)
    assert result.score < DEFAULT_THRESHOLD, result.detail
    assert not is_match(a, b)


def test_labelled_set_precision_and_recall() -> None:
    labelled = _all_labelled()
    assert len(labelled) >= 40
    tp = sum(1 for a, b, ok in labelled if ok and is_match(a, b))
    fp = sum(1 for a, b, ok in labelled if not ok and is_match(a, b))
    fn = sum(1 for a, b, ok in labelled if ok and not is_match(a, b))
    assert tp / (tp + fp) == 1.0
    assert tp / (tp + fn) == 1.0


def test_threshold_margins() -> None:
    """Keep a visible gap between the worst true pair and the best decoy."""
    labelled = _all_labelled()
    worst_true = min(compare(a, b).score for a, b, ok in labelled if ok)
    best_decoy = max(compare(a, b).score for a, b, ok in labelled if not ok)
    assert worst_true >= DEFAULT_THRESHOLD + 0.015
    assert best_decoy <= DEFAULT_THRESHOLD - 0.015


@pytest.mark.parametrize(("a", "b"), _true_pairs())
def test_blocking_keys_shared_on_true_pairs(a: str, b: str) -> None:
    assert blocking_keys(a) & blocking_keys(b)


def test_patronymic_is_reported() -> None:
    result = compare("Гольдберг Илья Маркович", "Ilya Goldberg")
    assert result.score == 1.0
    assert "patronymic 'markovich' ignored" in result.detail
    kazakh = compare("Нұрлан Серікұлы Әбдірахманов", "Nurlan Abdirakhmanov")
    assert "patronymic" in kazakh.detail


def test_initials_are_capped_and_reported() -> None:
    result = compare("Goldberg I. M.", "Ilya Goldberg")
    assert result.score < DEFAULT_THRESHOLD
    assert "initials only" in result.detail
    full = compare("Goldberg I. M.", "Goldberg Ilya Markovich")
    assert 0.0 < full.score < DEFAULT_THRESHOLD
    assert "initials only" in full.detail


def test_extra_token_is_penalised_not_zeroed() -> None:
    result = compare("Aspan Arba Plus", "Aspan Arba")
    assert 0.5 < result.score < DEFAULT_THRESHOLD
    assert "'plus'" in result.detail


def test_typo_tolerance() -> None:
    assert is_match("Goldbreg", "Goldberg")
    assert not is_match("Goldman", "Goldberg")


def test_soft_legal_form_ignored_as_extra() -> None:
    result = compare("Acme AG", "Acme")
    assert result.score == 1.0
    assert "legal form 'ag' ignored" in result.detail


def test_name_match_is_frozen() -> None:
    result = compare("Ilya Goldberg", "Ilya Goldberg")
    assert isinstance(result, NameMatch)
    with pytest.raises(AttributeError):
        result.score = 0.5  # type: ignore[misc]


def test_normalize() -> None:
    assert normalize("ООО «Небесная  Механика»") == "ооо небесная механика"
    assert normalize('"Aspan-Arba",  LLP.') == "aspan arba llp"
    assert normalize("O'Brien") == "obrien"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ТОО «Аспан Арба»", "аспан арба"),
        ("Aspan Arba TOO", "aspan arba"),
        ("Aspan Arba LLP", "aspan arba"),
        ("Небесная Механика LLC", "небесная механика"),
        ("Acme GmbH & Co. KG", "acme"),
        ("Товарищество с ограниченной ответственностью «Аспан Арба»", "аспан арба"),
        ("IP Ivanov Ivan", "ivanov ivan"),
        ("Ip Man", "ip man"),
        ("ООО", "ооо"),
    ],
)
def test_strip_legal_forms(raw: str, expected: str) -> None:
    assert strip_legal_forms(raw) == expected


def test_transliterate_drops_soft_signs() -> None:
    assert transliterate("Илья Гольдберг") == "ilya goldberg"
    assert transliterate("Объект") == "obekt"


def test_tokens_sorted_and_clean() -> None:
    assert tokens("GOLDBERG, Ilya") == ["goldberg", "ilya"]
    assert tokens("ТОО «Аспан Арба»") == ["arba", "aspan"]
    assert tokens("Нұрлан Серік ұлы Әбдірахманов") == ["abdirakhmanov", "nurlan", "serikuly"]


def test_fold_variants() -> None:
    assert "ilia" in fold_variants("ilja")
    assert "ilia" in fold_variants("ilya")
    assert "mehanika" in fold_variants("mejanica")
    assert "shaposhnikov" in fold_variants("schaposchnikow")
    assert "shaposhnikov" in fold_variants("chapochnikov")
    assert "mihail" in fold_variants("michail")
    assert fold_variants("Schaposchnikow") == fold_variants("schaposchnikow")
    assert "ilia" in fold_variants("Илья")
    assert fold_variants("--") == set()


def test_empty_inputs() -> None:
    assert tokens("") == []
    assert compare("", "Ilya").score == 0.0
    assert compare("", "").score == 0.0
    assert blocking_keys("") == set()


# Names built from letters of several scripts plus separators.
_letters = st.characters(categories=("Lu", "Ll", "Lo", "Lm", "Mn", "Nd"))
_name = st.text(alphabet=st.one_of(_letters, st.sampled_from(" .,-«»'\"")), min_size=1, max_size=30).filter(
    lambda s: any(ch.isalpha() for ch in s)
)


@settings(max_examples=300, deadline=None)
@given(_name)
def test_self_compare_is_perfect(name: str) -> None:
    assert compare(name, name).score == 1.0


@settings(max_examples=300, deadline=None)
@given(_name, _name)
def test_compare_is_symmetric(a: str, b: str) -> None:
    assert abs(compare(a, b).score - compare(b, a).score) <= 1e-9


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([n for g in TRUE_GROUPS for n in g] + ["Goldberg I. M.", "Ivan"]),
        min_size=2,
        max_size=2,
    )
)
def test_symmetric_on_realistic_names(pair: list[str]) -> None:
    a, b = pair
    assert abs(compare(a, b).score - compare(b, a).score) <= 1e-9


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_tokens_never_raise(text: str) -> None:
    toks = tokens(text)
    assert toks == sorted(toks)
    assert all(toks)
    assert isinstance(blocking_keys(text), set)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(_name, _name)
def test_score_in_unit_interval(a: str, b: str) -> None:
    assert 0.0 <= compare(a, b).score <= 1.0
