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
from typing import Any

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


def _positions(values: Any, distinct: Any) -> Any:
    """Each value's position in `distinct` (its values once each), as UInt32; null where
    it is not there."""
    import polars as pl

    if distinct.is_empty():  # replace_strict would hand the values back as they are
        return pl.Series(values.name, [None] * len(values), dtype=pl.UInt32)
    codes = pl.int_range(len(distinct), dtype=pl.UInt32, eager=True)
    return values.replace_strict(distinct, codes, default=None, return_dtype=pl.UInt32)


def address_key_column(addresses: Any) -> Any:
    """`address_key` of each address of a polars Series (Utf8), as a Series: a registry's
    100k addresses are a few thousand distinct words, so Python reduces each distinct
    word once (`_comparable`: normalising, transliterating and dropping punctuation act
    on each character, a blank always ends a word, so the words' forms joined are the
    address's) and polars assembles each address's tokens, drops the noise words and
    postcodes, and sorts them. An address with a hyphenated word (which keeps the noise
    words it contains) takes `address_key` itself."""
    import polars as pl

    distinct = addresses.drop_nulls().unique()
    # a hyphen between two signs neither a digit nor a blank: those of `_COMPOUND` and more
    maybe = distinct.filter(distinct.str.contains("[^0-9\\s][-\u2010\u2011\u2013][^0-9\\s]")).to_list()
    hyphenated = [a for a in maybe if _COMPOUND.search(a)]
    distinct = distinct.to_list()
    plain = pl.DataFrame({"address": distinct}, schema={"address": pl.Utf8})
    plain = plain.filter(~pl.col("address").is_in(hyphenated)).with_row_index("at")
    words = plain.select("at", pl.col("address").str.extract_all(r"\S+").alias("word")).explode("word")
    known = words["word"].drop_nulls().unique()
    # an ASCII word's form by expressions (apostrophes go, other signs split; no letter
    # of _RUSSIAN_SPELLING or anyascii's is ASCII); the others' by `_comparable`
    plain_text = known.str.contains(r"^[\x00-\x7f]*$")
    ascii_words, others = known.filter(plain_text), known.filter(~plain_text)
    ascii_forms = ascii_words.str.replace_all("['`]", "").str.to_lowercase().str.replace_all("[^a-z0-9]+", " ")
    forms = pl.concat([
        pl.DataFrame({"word": ascii_words, "token": ascii_forms.str.strip_chars(" ")}),
        pl.DataFrame({"word": others, "token": pl.Series([_comparable(w) for w in others.to_list()], dtype=pl.Utf8)}),
    ])  # fmt: skip
    # each distinct word's kept tokens, as codes that sort as their text; the addresses'
    # words meet them by integer codes (strings per word of every address were the
    # largest frames of this step: ~120 MB at 100k addresses)
    tokens = forms.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("word"), pl.col("token").str.split(" "))
    tokens = tokens.explode("token").filter(
        (pl.col("token") != "") & ~pl.col("token").is_in(list(_NOISE)) & ~pl.col("token").str.contains("^[0-9]{6}$")
    )
    text = tokens["token"].unique().sort()
    tokens = tokens.select("word", _positions(tokens["token"], text).alias("token"))
    coded = pl.DataFrame({"at": words["at"], "word": _positions(words["word"], forms["word"])})
    del words
    kept = coded.join(tokens, on="word").select("at", "token")
    named = pl.element().replace_strict(pl.int_range(len(text), dtype=pl.UInt32, eager=True), text,
                                        return_dtype=pl.Utf8)  # fmt: skip
    keys = kept.group_by("at").agg(pl.col("token").sort()).select("at", pl.col("token").list.eval(named).list.join(" ")
                                                                   .alias("key"))  # fmt: skip
    found = plain.join(keys, on="at", how="left").select("address", "key")
    exact = pl.DataFrame({"address": hyphenated, "key": [address_key(a) for a in hyphenated]},
                         schema={"address": pl.Utf8, "key": pl.Utf8})  # fmt: skip
    found = pl.concat([found, exact]).filter(pl.col("address") != "")  # an empty address has no key
    frame = pl.DataFrame({"address": addresses}).join(found, on="address", how="left", maintain_order="left")
    return frame["key"].alias("address_key")
