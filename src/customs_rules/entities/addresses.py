# Cyrillic abbreviations are the point of this module, not confusables.
# ruff: noqa: RUF001
"""Registered addresses reduced to a key, so that two spellings of one address meet.

Deliberately small: NFKC + casefold, transliteration to ASCII (the same as names),
punctuation to spaces, the common words for street, house, city, office and the like
dropped in Russian, Kazakh, Kyrgyz and English (ул., улица, көшесі, көчөсү, street, st,
д., дом, үй, house, г., город, қаласы, шаары, ш., city, пр., проспект, даңғылы, avenue,
офис, кеңсе, office, кв., пәтер, apt...), then the tokens sorted (six-digit postcodes
dropped too), so "г. Алматы, ул. Абая, д. 10", "Алматы қ., Абая көшесі, 10 үй" and
"Almaty, Abaya street 10" give one key. Kazakh and Kyrgyz letters are first written
as Russian spelling writes them (Достық -> Достык, Қонаев -> Конаев, кеңсе -> кенсе).
Street names themselves are not spelling-folded beyond the transliteration: an address
that differs in a word is another address (a wrong link is worse than a missed one).
"""

from __future__ import annotations

import re

from .name_text import normalize, transliterate

# Words that say what kind of place follows, not which one (transliterated forms).
_NOISE = frozenset(
    {
        # street, avenue, lane, square, district, microdistrict
        "ul", "ulitsa", "street", "st", "str", "koshesi", "kosh", "pr", "prt", "prospekt", "prosp",
        "avenue", "ave", "av", "dangyly", "pereulok", "per", "lane", "ploshchad", "pl", "square", "sq",
        "bulvar", "bul", "blvd", "boulevard", "shosse", "sh", "road", "rd", "naberezhnaia", "nab",
        "raion", "rn", "district", "mikroraion", "mkr", "md", "microdistrict", "ykshamaudan",
        # house, building, block, office, flat, floor, room
        "d", "dom", "house", "h", "no", "n", "nomer", "uy", "korpus", "korp", "k", "building", "bldg",
        "stroenie", "block", "blk", "ofis", "of", "office", "ste", "suite", "kv", "kvartira",
        "apt", "apartment", "flat", "pom", "pomeshchenie", "etazh", "floor", "fl", "room", "rm",
        # city, town, region, country words
        "g", "gorod", "city", "qala", "kala", "q", "obl", "oblast", "region", "respublika", "republic",
        "the", "kazakhstan", "qazaqstan", "rk", "rf", "rossiia", "russia", "russian", "federation",
        # Kazakh and Kyrgyz (after the letter fold below): street, avenue, square, house,
        # office, flat, room, floor, building, city, region, district, microdistrict
        "kochosu", "kochesi", "dang", "prospektisi", "alany", "tuiyk",
        "ui", "uii", "uyi", "kense", "pater", "batir", "bolme", "bolmo", "kabat", "gimarat", "imarat",
        "kalasy", "shaary", "shaar", "oblysy", "oblusu", "audany", "audan", "kichi",
        "shagyn", "ykshamaudany", "kyrgyzstan", "kyrgyz", "kr", "rayon", "rayonu", "mikrorayon",
    }
)  # fmt: skip
# Kazakh and Kyrgyz letters as Russian spelling writes them: one key for Достық and Достык
_RUSSIAN_SPELLING = str.maketrans("қғңұүөәіһҚҒҢҰҮӨӘІҺ", "кгнууоаихКГНУУОАИХ")


def _is_postcode(token: str) -> bool:
    # Kazakh and Russian postcodes have six digits; house numbers never do
    return len(token) == 6 and token.isdigit()


def address_key(address: str | None) -> str | None:
    """The comparable form of an address, or None when nothing identifying is left."""
    if not address:
        return None
    text = _comparable(address)
    # a word hyphenated to another word is part of a place name, never an address word:
    # Кичи-Кемин is not Кемин (but 10-үй is house 10)
    named = {t for compound in _COMPOUND.findall(address) for t in _comparable(compound).split()}
    tokens = sorted(t for t in text.split() if (t not in _NOISE or t in named) and not _is_postcode(t))
    return " ".join(tokens) or None


_COMPOUND = re.compile(r"[^\W\d_]+(?:[-\u2010\u2011\u2013][^\W\d_]+)+")


def _comparable(text: str) -> str:
    return transliterate(normalize(text).replace("№", " ").translate(_RUSSIAN_SPELLING))
