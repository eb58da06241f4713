# Cyrillic and Kazakh literals are the point of this module, not confusables.
# ruff: noqa: RUF001, RUF002, RUF003
"""Goods descriptions as text: what a description says it is (drones, chips...), in
Russian, Kazakh and English, against the HS code declared for it.

A keyword list (`rules/lists/*.yaml`, kind `keyword_list`, read by `rules.keywords`)
names goods by terms of one or more words. A word written with a trailing `*` inflects:
it matches the stem followed by an ending of its language's light suffix model (Russian
noun and adjective endings; Kazakh chains of plural, possessive, case and attributive
suffixes; English -s/-es); a word without `*` matches only as written. So `дрон*` is
дроны, дронов, дрондар, дрондардың, but not дроновидная or дрончик; `чип*` is чипы,
чиптер, but not чипсы.

Text is normalised first (`name_text.normalize`'s NFKC and casefold, ё as е, hyphens
split words, a Kazakh suffix written after a hyphen (БПЛА-лар) joined back), and a word
mixing Latin and Cyrillic look-alikes (БПЛA with a Latin A, СРU) is read in the script of
its other letters. Stems of 9 letters or more also match with one slip (a letter added,
dropped, changed or two swapped) that keeps their first and last letters: квадракоптер,
microcontroler.

Three things keep a word from naming the goods:
- an exclusion of its list covers it (`potato chips`, `drone-shaped`, `food processor`);
- it states a purpose or a feature: after `for/with/для/к/под/с/без...` or before
  `арналған/үшін/бар` (a battery *for* a drone names a battery, a smartphone *with*
  GPS a smartphone); such mentions are kept as `attribute` hits, for evidence only;
- it is not a word of its own (`дроновидная`: the ending model refuses `овидная`).

A description whose code fits none of the lists it names disagrees with its code. A list
may let a code fit only in a context: a toy drone is a toy (9503) when the description
says it is a toy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .name_text import normalize

LANGUAGES = ("en", "ru", "kk", "ru_latn")


def _listed(text: str) -> list[str]:
    return text.split()


# Russian noun and adjective endings (after ё is read as е), and their Latin renderings.
_RU = _listed(
    "а я о е ы и у ю ь ой ей ом ем ам ям ах ях ов ев ами ями ий ый ая яя ое ее ые ие ого его ому ему "
    "ым им ых их ую юю ью ия ии ию ией ием иям иями иях"
)
_RU_LATN = _listed(
    "a ya o e y i u yu om em am yam akh yakh ov ev ami yami iy yy aya oe ye ie ogo ego omu emu ym im ykh ikh "
    "uyu iya ii iyu"
)
_EN = ("", "s", "es")
_KK = re.compile(
    "(?:лар|лер|дар|дер|тар|тер)?"
    "(?:ымыз|іміз|ыңыз|іңіз|мыз|міз|ңыз|ңіз|сы|сі|ым|ім|ың|ің|ы|і|м|ң)?"
    "(?:ның|нің|дың|дің|тың|тің|дан|ден|тан|тен|нан|нен|нда|нде|мен|бен|пен|ға|ге|қа|ке|на|не|ны|ні|ды|ді|ты|ті"
    "|да|де|та|те|ша|ше|а|е|н)?"
    "(?:ғы|гі|қы|кі)?"
)
_VOWELS = frozenset("аәеёиоөуұүыіэюя")
ENDINGS = {"ru": frozenset(["", *_RU]), "en": frozenset(_EN), "ru_latn": frozenset(["", *_RU_LATN])}
MAX_ENDING = 8  # characters: the longest Kazakh chain the model reads (лардың, ларымыздағы is longer: rare)
CACHE = 65536  # distinct descriptions (and words) remembered before the memo starts afresh
TYPO_MIN = 9  # letters a stem needs before one slip is forgiven

# A goods word after one of these names a purpose or a feature, not the goods (a battery
# *for* a drone); a Kazakh postposition comes after the word (дронға арналған).
BEFORE = frozenset(_listed("for with w incl including without для к ко под с со без включая"))
AFTER = frozenset(_listed("арналған үшін бар жоқ"))

# Latin and Cyrillic letters that look alike once case-folded (А/A, Р/P, С/C, Н/H, В/B...).
_LOOK_ALIKE = dict(zip("aeopcxykmhtbi", "аеорсхукмнтві", strict=True))
_TO_CYRILLIC = str.maketrans(_LOOK_ALIKE)
_TO_LATIN = str.maketrans({v: k for k, v in _LOOK_ALIKE.items()})
_CYRILLIC_LOOK_ALIKE = frozenset(_LOOK_ALIKE.values())
_HYPHENS = re.compile("[\\-\u2010-\u2015\u2212]+")


@dataclass(frozen=True)
class Word:
    """One word of a term: a stem, and whether it inflects (the `*` of the list file)."""

    stem: str
    inflects: bool


@dataclass(frozen=True)
class Term:
    """A term as the list file writes it (`text`), its language and its words."""

    text: str
    lang: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class Context:
    """Codes that fit a list only when the description also says one of `terms` (a toy)."""

    codes: tuple[str, ...]
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class KeywordList:
    name: str
    title: str
    source: str
    codes: tuple[str, ...]  # HS prefixes the goods it names belong under
    terms: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()
    contexts: tuple[Context, ...] = ()
    references: tuple[str, ...] = ()
    parts: tuple[Term, ...] = ()  # "parts for <goods>": parts of the goods, which its codes hold


@dataclass(frozen=True)
class Hit:
    """One term found in a description: its list, the term, the words as written there
    (normalised), and whether it names the goods or only a purpose or feature."""

    list: str
    term: str
    words: str
    attribute: bool = False

    def as_dict(self) -> dict[str, Any]:
        found = {"list": self.list, "term": self.term, "words": self.words}
        return found | ({"as": "purpose or feature"} if self.attribute else {})


@dataclass(frozen=True)
class TextMatch:
    """What a description names: `lists` (sorted) and the hits behind them."""

    lists: tuple[str, ...] = ()
    hits: tuple[Hit, ...] = ()
    contexts: frozenset[tuple[str, int]] = frozenset()  # (list, context number) the text says


NOTHING = TextMatch()


def parse_term(text: str, lang: str) -> Term:
    """`беспилотн* летательн* аппарат*` into its words; raises ValueError when empty
    or when a word normalises to nothing or to several words."""
    words = []
    for raw in text.split():
        inflects = raw.endswith("*")
        units = words_of(raw.rstrip("*"))
        if not units:
            raise ValueError(f"term {text!r}: word {raw!r} holds no letter or digit")
        words += [Word(unit, inflects and i == len(units) - 1) for i, unit in enumerate(units)]
    if not words:
        raise ValueError("empty term")
    return Term(text, lang, tuple(words))


def words_of(text: str) -> tuple[str, ...]:
    """The words of a text as matching reads them (see the module's docstring)."""
    return _words(text)


@lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    return tuple(word for chunk in text.split() for word in _chunk(chunk))


@lru_cache(maxsize=65536)
def _chunk(chunk: str) -> tuple[str, ...]:
    """The words of one whitespace-free chunk (descriptions repeat their chunks)."""
    if chunk.isascii() and chunk.isalnum():
        return (chunk.lower(),)
    chunk = unicodedata.normalize("NFKC", chunk).replace("\u0451", "\u0435").replace("\u0401", "\u0415")
    found: list[str] = []
    for piece in _HYPHENS.split(chunk):
        for word in normalize(piece).split():
            word = _fold(word)
            if found and _glued_suffix(word, found[-1]):
                found[-1] += word
            else:
                found.append(word)
    return tuple(found)


def _glued_suffix(part: str, previous: str) -> bool:
    """БПЛА-лар, GPS-тің: a Kazakh suffix chain written after a hyphen."""
    return len(part) >= 2 and not previous.isdigit() and _KK.fullmatch(part) is not None and part not in AFTER


def _fold(word: str) -> str:
    """A word mixing Latin and Cyrillic letters, read in the script of its letters that
    have no look-alike (СРU -> cpu, БПЛA -> бпла); left as it is when that is unclear."""
    latin = cyrillic = 0
    for ch in word:
        if "a" <= ch <= "z":
            latin += 1
        elif "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
    if not (latin and cyrillic):
        return word
    latin_only = sum(1 for ch in word if "a" <= ch <= "z" and ch not in _LOOK_ALIKE)
    cyrillic_only = sum(1 for ch in word if "\u0400" <= ch <= "\u04ff" and ch not in _CYRILLIC_LOOK_ALIKE)
    if cyrillic_only > latin_only:
        return word.translate(_TO_CYRILLIC)
    if latin_only > cyrillic_only:
        return word.translate(_TO_LATIN)
    return word


def ending_fits(lang: str, stem: str, ending: str) -> bool:
    """Whether `ending` is an inflection of `stem` in the language's light suffix model."""
    if lang == "kk":
        if ending[:1] == "с" and stem[-1:] not in _VOWELS:
            return False  # the possessive -сы/-сі follows vowels only: чипсы is not a чип
        return _KK.fullmatch(ending) is not None
    return ending in ENDINGS[lang]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass
class _Index:
    """Stems and whole words of the terms, with their single-deletion neighbourhoods."""

    exact: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # word -> (term, position)
    stems: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    near: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)  # deletion -> (stem, term, position)

    def add(self, term_number: int, term: Term, fuzzy: bool) -> None:
        for position, word in enumerate(term.words):
            table = self.stems if word.inflects else self.exact
            table.setdefault(word.stem, []).append((term_number, position))
            if fuzzy and word.inflects and len(word.stem) >= TYPO_MIN:
                for key in {word.stem} | _deletions(word.stem):
                    self.near.setdefault(key, []).append((word.stem, term_number, position))


class GoodsMatcher:
    """Keyword lists compiled once; `match` reads a description, `fits` a code."""

    def __init__(self, lists: Iterable[KeywordList]) -> None:
        self.lists = {kl.name: kl for kl in lists}
        # every term of every list: (list name, kind, context number, term); kind is
        # "term", "exclude" or "context"
        self.terms: list[tuple[str, str, int, Term]] = []
        for kl in self.lists.values():
            self.terms += [(kl.name, "term", -1, t) for t in kl.terms]
            self.terms += [(kl.name, "exclude", -1, t) for t in kl.exclude]
            self.terms += [(kl.name, "parts", -1, t) for t in kl.parts]
            for number, context in enumerate(kl.contexts):
                self.terms += [(kl.name, "context", number, t) for t in context.terms]
        self.index = _Index()
        for number, (_, kind, _, term) in enumerate(self.terms):
            self.index.add(number, term, fuzzy=kind != "exclude")  # an exclusion is taken as written
        # plain dicts (a matcher may be pickled to a worker), started afresh when full
        self._words: dict[str, tuple[tuple[int, int], ...]] = {}
        self._matches: dict[str, TextMatch] = {}

    def match(self, description: str | None) -> TextMatch:
        """The lists a description names (cached per distinct description)."""
        if not description or not self.lists:
            return TextMatch()
        found = self._matches.get(description)
        if found is None:
            if len(self._matches) >= CACHE:
                self._matches.clear()
            found = self._matches[description] = self._match_text(description)
        return found

    def fits(self, found: TextMatch, hs_code: str) -> list[str]:
        """The lists named whose codes (or codes in a context the text says) hold `hs_code`."""
        fitting = []
        for name in found.lists:
            kl = self.lists[name]
            codes = list(kl.codes)
            codes += [c for n, ctx in enumerate(kl.contexts) if (name, n) in found.contexts for c in ctx.codes]
            if any(hs_code.startswith(code) for code in codes):
                fitting.append(name)
        return fitting

    def values(self, description: str | None, hs_code: str) -> tuple[list[str] | None, bool | None]:
        """The two facts' values (the lists named; the code fits none of them), without
        their evidence; both missing when there is no description."""
        if description is None:
            return None, None
        found = self.match(description)
        return list(found.lists), bool(found.lists) and not self.fits(found, hs_code)

    def mismatch(self, description: str | None, hs_code: str) -> tuple[bool | None, dict[str, Any] | None]:
        """Whether the description names goods (of some list) and the code fits none of
        them, with the evidence; None (missing) when there is no description."""
        if description is None:
            return None, None
        found = self.match(description)
        if not found.lists:
            return False, None
        fitting = self.fits(found, hs_code)
        detail: dict[str, Any] = {"hs_code": hs_code, "named": [h.as_dict() for h in found.hits if not h.attribute]}
        if fitting:
            return False, detail | {"fits": fitting}
        expected = {name: self._codes(name, found) for name in found.lists}
        why = f"the description names {', '.join(found.lists)}, whose codes do not include HS {hs_code}"
        return True, detail | {"expected_codes": expected, "why": why}

    def _codes(self, name: str, found: TextMatch) -> list[str]:
        kl = self.lists[name]
        return [*kl.codes, *(c for n, ctx in enumerate(kl.contexts) if (name, n) in found.contexts for c in ctx.codes)]

    def _word(self, token: str) -> tuple[tuple[int, int], ...]:
        found = self._words.get(token)
        if found is None:
            if len(self._words) >= CACHE:
                self._words.clear()
            found = self._words[token] = self._word_hits(token)
        return found

    def _word_hits(self, token: str) -> tuple[tuple[int, int], ...]:
        """(term, position) pairs a token can be: whole words, stems with a fitting
        ending, and long stems one slip away."""
        found: list[tuple[int, int]] = list(self.index.exact.get(token, ()))
        for cut in range(len(token), max(len(token) - MAX_ENDING, 0) - 1, -1):
            stem, ending = token[:cut], token[cut:]
            for term_number, position in self.index.stems.get(stem, ()):
                if ending_fits(self.terms[term_number][3].lang, stem, ending):
                    found.append((term_number, position))
            if len(stem) >= TYPO_MIN - 1 and self.index.near:
                found += self._near(stem, ending)
        return tuple(dict.fromkeys(found))

    def _near(self, stem: str, ending: str) -> list[tuple[int, int]]:
        found = []
        for key in {stem} | _deletions(stem):
            for known, term_number, position in self.index.near.get(key, ()):
                if known == stem or known[0] != stem[0] or known[-1] != stem[-1] or abs(len(known) - len(stem)) > 1:
                    continue
                if ending_fits(self.terms[term_number][3].lang, known, ending):
                    found.append((term_number, position))
        return found

    def _match_text(self, description: str) -> TextMatch:
        tokens = words_of(description)
        words = [self._word(t) for t in tokens]
        if not any(words):
            return NOTHING  # the usual case: no word of any list
        at: list[set[tuple[int, int]]] = [set(w) for w in words]
        spans: list[tuple[int, int, int]] = []  # (term number, start, end)
        for start in range(len(tokens)):
            for term_number, position in at[start]:
                if position != 0:
                    continue
                size = len(self.terms[term_number][3].words)
                end = start + size
                if end <= len(tokens) and all((term_number, k) in at[start + k] for k in range(1, size)):
                    spans.append((term_number, start, end))
        excluded: dict[str, set[int]] = {}
        contexts = set()
        parts: set[tuple[str, int, int]] = set()  # (list, start, end) of parts words
        for term_number, start, end in spans:
            name, kind, context, _ = self.terms[term_number]
            if kind == "exclude":
                excluded.setdefault(name, set()).update(range(start, end))
            elif kind == "context":
                contexts.add((name, context))
            elif kind == "parts":
                parts.add((name, start, end))
        hits: dict[tuple[str, int, int], Hit] = {}  # one per list and span: the first term that found it
        for term_number, start, end in spans:
            name, kind, _, term = self.terms[term_number]
            if kind != "term" or excluded.get(name, set()) & set(range(start, end)) or (name, start, end) in hits:
                continue
            before = start > 0 and tokens[start - 1] in BEFORE
            after = end < len(tokens) and tokens[end] in AFTER
            # "parts for drones" (or "дрондарға арналған бөлшектер") names the goods' parts
            of_parts = (before and any(p[0] == name and p[2] == start - 1 for p in parts)) or (
                after and any(p[0] == name and p[1] == end + 1 for p in parts)
            )
            attribute = (before or after) and not of_parts
            hits[name, start, end] = Hit(name, term.text, " ".join(tokens[start:end]), attribute)
        named = tuple(sorted({h.list for h in hits.values() if not h.attribute}))
        return TextMatch(named, tuple(dict.fromkeys(hits.values())), frozenset(c for c in contexts if c[0] in named))
