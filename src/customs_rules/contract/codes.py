"""Codes users write in a declaration, normalised: HS codes (dots and spaces dropped),
countries (ISO alpha-2 from a code, an English, Russian or Kazakh name, or a look-alike
Cyrillic letter) and currencies."""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache

import pycountry

from .input_text import ascii_digits, control_problem, describe

HS_SEPARATORS = re.compile(r"[.\s]")


# [0-9], not \d: \d matches every script's digits, which no goods list or date parser reads
HS_DIGITS = re.compile(r"[0-9]{6,10}")


def normalize_hs(value: str) -> str:
    """`8806.21`, `8806 21 000 0` and `88062100` all become plain digits (6 to 10)."""
    if not isinstance(value, str):
        # a number has lost any leading zero (0101.21 -> 10121): refuse rather than guess
        raise ValueError(f'HS code {value!r} must be written as text, e.g. "8806.21" (keeps leading zeros)')
    problem = control_problem(value)
    if problem:
        raise ValueError(f"HS code {problem}")
    digits = HS_SEPARATORS.sub("", ascii_digits(value.strip()))
    if not HS_DIGITS.fullmatch(digits):
        raise ValueError(
            f"HS code {value!r} must have 6 to 10 digits (dots and spaces allowed), e.g. 8806.21 or 8806 21 000 0"
        )
    return digits


@lru_cache(maxsize=512)
def normalize_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, case-insensitive, checked against pycountry."""
    code = _upper_ascii(value)
    if not code.isascii() or len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        close = " or ".join(
            f"{c} ({getattr(pycountry.countries.get(alpha_2=c), 'name', '?')})" for c in country_suggestions(value)
        )
        hint = f"; did you mean {close}?" if close else ""
        why = _look_alike(code, 2)
        raise ValueError(f"unknown country {value!r}: {why}expected an ISO 3166-1 alpha-2 code{hint}")
    return code


_MINOR_WORDS = {"of", "the", "and", "da", "de"}


# common names that ISO 3166 and its translations lack
_EXONYMS = {"turkey": "TR", "holland": "NL", "burma": "MM", "ivory coast": "CI", "swaziland": "SZ",
            "macedonia": "MK", "cape verde": "CV", "east timor": "TL", "kirghizia": "KG", "kirgizia": "KG",
            "byelorussia": "BY", "belorussia": "BY", "bielorussia": "BY", "россия": "RU"}  # fmt: skip


_LANGUAGES = ("ru", "kk")  # besides English: the names officers in the region type


def _name_key(text: str) -> str:
    """Casefolded letters and digits of any script, accents dropped, one space between words."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


@lru_cache(maxsize=1)
def _country_names() -> tuple[dict[str, str], dict[str, str]]:
    """(every name, official and common name, in English, Russian and Kazakh, and alpha-3
    code -> alpha-2 code; the initials of each multi-word English name, UAE, USA, UK -> code)."""
    import gettext

    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
                    for lang in _LANGUAGES]  # fmt: skip
    names: dict[str, str] = {}
    initials: dict[str, str] = {}
    for country in pycountry.countries:
        english = [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        spellings = [*english, country.alpha_3, *(t.gettext(n) for t in translations for n in english if n)]
        for spelling in filter(None, spellings):
            names.setdefault(_name_key(spelling), country.alpha_2)
        for spelling in filter(None, english):
            words = [w for w in _name_key(spelling).split() if w not in _MINOR_WORDS]
            if len(words) > 1:
                initials.setdefault("".join(w[0] for w in words), country.alpha_2)
    for exonym, code in _EXONYMS.items():
        names.setdefault(exonym, code)
    return names, initials


def country_suggestions(value: str, limit: int = 3) -> list[str]:
    """Alpha-2 codes whose country is probably meant by `value`, best first: its name,
    in English, Russian or Kazakh, or alpha-3 code ("Russian Federation", "Казахстан",
    "RUS"), its initials ("UAE"), the start of a word of its name ("Russia", "Korea"),
    or a close spelling ("Kazakstan")."""
    key = _name_key(value)
    if not key:
        return []
    names, initials = _country_names()
    found = [table[key] for table in (names, initials) if key in table]
    if len(key) >= 4:
        found += [code for name, code in names.items() if f" {name}".find(f" {key}") >= 0]
    found += [names[name] for name in difflib.get_close_matches(key, list(names), n=limit, cutoff=0.8)]
    return list(dict.fromkeys(found))[:limit]


@lru_cache(maxsize=256)
def normalize_currency(value: str) -> str:
    """An ISO 4217 code, case-insensitive, checked against pycountry."""
    code = _upper_ascii(value)
    if not code.isascii() or len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        why = _look_alike(code, 3)
        raise ValueError(f"unknown currency {value!r}: {why}expected an ISO 4217 code such as USD")
    return code


def _upper_ascii(value: str) -> str:
    # only ASCII is upper-cased: "ß" would become SS (South Sudan), Turkish "ı" an I; and a
    # Cyrillic or Greek look-alike is another letter, never read as the Latin one
    code = value.strip()
    return code.upper() if code.isascii() else code


def _look_alike(code: str, size: int) -> str:
    """For a code-sized value with a non-ASCII letter: which letter keeps it from being a code."""
    if code.isascii() or len(code) > size:
        return ""
    odd = next(ch for ch in code if not ch.isascii())
    return f"it holds {describe(odd)}, not an ASCII letter; "
