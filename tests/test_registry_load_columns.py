# Cyrillic test data is intended, not confusable Latin.
# ruff: noqa: RUF001, RUF003
"""The columnar company keys of a registry load (`entities.spelling_keys`) equal the
per-spelling ones (`names.spelling_keys`) on every spelling, whichever path it takes; its
columnar ids (`persons.normalize_ids`) equal `persons.normalize_id`; its columnar
address keys (`addresses.address_key_column`) equal `addresses.address_key`; the seal of the frame
a load stores (`audit.frame_seal`) equals the seal of its rows read back; a plain registry
file split by polars gives what the csv module gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from customs_rules.contract.registry_rows import CompanyRecord
from customs_rules.entities import names
from customs_rules.entities.addresses import address_key, address_key_column
from customs_rules.entities.persons import normalize_id, normalize_ids
from customs_rules.entities.registry_files import read_registry_frame
from customs_rules.entities.spelling_keys import company_spelling_keys
from customs_rules.io.lines import plain_count
from customs_rules.store import audit

# words that exercise each step: legal forms in several scripts (at the edges, inside,
# dotted, glued by a hyphen), Cyrillic and Latin renderings of one word, Latin letters
# with marks, patronymic particles, digits, short tokens, English trade words, quotes
WORDS = [
    "ООО", "ТОО", "LLC", "LLP", "TOO", "OOO", "AO", "АО", "IP", "ИП", "JSC", "GmbH", "Co.,", "Ltd.", "Sp.", "z", "o.o.",
    "A.Ş.", "М.Ч.Ж.", "T.O.O.", "MChJ", "ՍՊԸ", "შპს", "ОсОО", "Ала-Тоо", "Ala-Too", "Тоо", "Ala", "Too", "Агро",
    "Agro", "«Техно", "Агро»", "Tekhno", "Техно", "Трейдинг", "Trading", "treiding", "Бридж", "Bridge", "bridzh",
    "Steel", "стил", "Yıldız", "Boğaziçi", "Müller", "Bałtyk", "Серік", "ұлы", "uly", "kyzy", "Кызы", "ogly", "2",
    "12", "A", "Б", "Ёлка", "O'Brien", "&", "-", "Dala", "Астык", "Astyk", "Impex", "импекс", "Group", "Групп",
    "ИНВЕСТ", "invest", "Ticaret", "Holding", "Холдинг", "ab", "xy", "Ж", "Қазақ", "Kazakh", "Ўзбек", "Uzbek",
]  # fmt: skip
BLANKS = [" ", " ", " ", "  ", "\u00a0", "\t"]


@st.composite
def spellings(draw: Any) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(BLANKS)) + word
    return text if draw(st.booleans()) else text.strip()


def _expected(values: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    exact, blocks = [], []
    for row, value in enumerate(values):
        key, keys = names.spelling_keys(value)
        exact.append(key)
        blocks += [(row, k) for k in keys]
    return exact, blocks


@settings(max_examples=150, deadline=None)
@given(st.lists(spellings(), min_size=1, max_size=40))
def test_columnar_keys_equal_the_per_spelling_keys(values: list[str]) -> None:
    exact, blocks = company_spelling_keys(pl.Series(values, dtype=pl.Utf8))
    expected_exact, expected_blocks = _expected(values)
    assert exact["exact"].to_list() == expected_exact
    assert [(int(r), k) for r, k in blocks.iter_rows()] == expected_blocks


def test_every_path_is_taken_and_agrees() -> None:
    """Spellings of the fast path and of each reason for the slow one, in one call."""
    values = [
        "ООО «Техно Агро»", "Tekhno Agro LLC", "Yıldız Steel Ticaret A.Ş.",  # fast: one script, or Latin only
        "ТОО «Достык Агро 2»",  # fast: a short ASCII token beside Cyrillic
        "Серік ұлы Ержан",  # slow: a particle
        "Agro Агро",  # slow: a Latin token also written in Cyrillic
        "Steel Стил", "Avto Авто",  # slow: an ASCII token (or its English fold) written in Cyrillic
        "Dala  Astyk", "Dala\u00a0Astyk",  # slow: other blanks
        "AO AG", "Ж",  # slow: no token of three letters
        "LLC", "ООО",  # the plan keeps nothing: every unit stays
        "Ala-Too Agromash", "Ала Тоо Агромаш",  # a form glued by a hyphen, a form inside
    ]  # fmt: skip
    exact, blocks = company_spelling_keys(pl.Series(values))
    expected_exact, expected_blocks = _expected(values)
    assert exact["exact"].to_list() == expected_exact
    assert [(int(r), k) for r, k in blocks.iter_rows()] == expected_blocks


def test_no_spelling() -> None:
    exact, blocks = company_spelling_keys(pl.Series([], dtype=pl.Utf8))
    assert exact.height == 0 and blocks.height == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="aZ09-. /٣１²ßİÄ\u00a0", max_size=8), st.text(max_size=6))))
def test_columnar_ids_equal_normalize_id(values: list[str | None]) -> None:
    assert normalize_ids(pl.Series(values, dtype=pl.Utf8)).to_list() == [normalize_id(v) for v in values]


class _Rows:
    """A cursor over these rows (what `audit._seal_rows` reads)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        part, self.rows = self.rows[:size], self.rows[size:]
        return part


TEXT = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\x7f", "é\u2028"]))
DATE = st.one_of(st.none(), st.dates(min_value=dt.date(1, 1, 1)), st.dates(min_value=dt.date(1800, 1, 1)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, DATE), max_size=30))
def test_frame_seal_equals_the_seal_of_the_rows_read_back(rows: list[tuple[Any, ...]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.Utf8, "b": pl.Utf8, "d": pl.Date}, orient="row")
    read_back = [(a, b, d.isoformat() if d is not None else None) for a, b, d in rows]  # SQLite's ISO text
    assert audit.frame_seal(frame, ["a", "b", "d"]) == audit._seal_rows(_Rows(read_back), [2])
    assert audit.frame_seal(frame, ["d", "a"]) == audit._seal_rows(_Rows([(d, a) for a, _, d in rows]), [0])


def test_a_plain_file_reads_as_the_csv_module_reads_it(tmp_path: Path) -> None:
    """Polars splits a file of plain lines (quoted fields, doubled quotes, commas and
    blanks inside quotes, empty fields); with CRLF line ends the csv module reads the same
    file: both give the same columns."""
    rows = [
        "company_id,name,country,registered_on,activity_codes,aliases,address",
        '100,"Alpha, ""Beta"" LLC",KZ,2020-01-02,46.21;01.11,"Alpha;  Beta ",',
        '200,ТОО «Дала Астык»,,,,,"ул. Абая 1, Алматы"',
        '300,"Gamma",kz,2019-05-14,,Gamma Ltd;,""',
    ]
    plain, crlf = tmp_path / "plain.csv", tmp_path / "crlf.csv"
    plain.write_text("\n".join(rows) + "\n", encoding="utf-8")
    crlf.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    assert plain_count(plain.read_bytes().split(b"\n", 1)[1], 7) == 3  # the polars path is taken
    frame = read_registry_frame(plain, CompanyRecord)
    assert frame.equals(read_registry_frame(crlf, CompanyRecord))
    assert frame["name"].to_list() == ['Alpha, "Beta" LLC', "ТОО «Дала Астык»", "Gamma"]
    assert frame["aliases"].to_list() == [["Alpha", "Beta"], [], ["Gamma Ltd"]]
    assert frame["country"].to_list() == ["KZ", None, "KZ"]


# address words of every kind `address_key` treats: noise words in several languages and
# scripts, postcodes, house numbers, hyphenated place names (which keep their noise
# words), Kazakh letters, №, apostrophes, marks, odd blanks and signs
ADDRESS_WORDS = [
    "г.", "Алматы,", "ул.", "Абая,", "д.", "10", "050000", "Алматы", "қ.,", "көшесі,", "үй", "Almaty,", "Abaya",
    "street", "st", "10-үй", "Кичи-Кемин", "Ala-Too", "Ала-Тоо", "офис", "№5", "No.", "kv.", "Достық", "Достык",
    "Қонаев", "O'Brien", "d'Arc", "Central", "353-272,", "RU", "KZ", "123456", "1234567", "pr-t", "Market", "a–b",
    "é", "e\u0301", "\u0301x", "ß", "Ⅻ", "²", "٣-٤", "x\u00b4y", "ﬁ", "ул.Абая", "Бишкек", "ш.,", "проспектиси,",
    "(офис", "12)", "#4", "-", "--", "'",
]  # fmt: skip
ADDRESS_BLANKS = [" ", "  ", "\u00a0", "\t", ", ", "\x1f", "\u2003"]


@st.composite
def addresses(draw: Any) -> str | None:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, "", " "]))
    words = draw(st.lists(st.sampled_from(ADDRESS_WORDS), min_size=1, max_size=7))
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(ADDRESS_BLANKS)) + word
    return text


@settings(max_examples=200, deadline=None)
@given(st.lists(addresses(), min_size=1, max_size=30))
def test_address_keys_by_word_equal_the_per_address_ones(values: list[str | None]) -> None:
    got = address_key_column(pl.Series(values, dtype=pl.Utf8))
    assert got.to_list() == [address_key(value) for value in values]
