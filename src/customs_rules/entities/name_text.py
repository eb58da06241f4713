# Cyrillic literals are the point of this module, not confusables.
# ruff: noqa: RUF001, RUF002, RUF003
"""Names as text: normalised, legal forms stripped, transliterated, tokenised, and each
token's spelling-fold variants (the first steps of the pipeline in `names`)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

from . import legal_forms

# entries each name memo keeps: a batch's worker holds them for its whole run. At 32,768
# the memos of this module and of `names` held ~170,000 entries by the end of the 1M-line
# benchmark, and the heap fragmented around them: 8,192 keeps each worker ~45 MB smaller
# for ~5% more CPU (benchmarks/RESULTS.md, session 14). `_token_info` keeps four times
# as many: `registry load` meets ~18,000 distinct names per 100,000 companies, and was
# ~8% slower with fewer.
MEMO = 8192

# Deleted rather than spaced so that O'Brien -> obrien and Il'ya -> ilya.
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u02bc\u2018`\u00b4\u02bb\u02b9"))


def _phrases(block: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(p.split()) for p in block.split("|") if p.strip())


_HARD_FORMS = _phrases(legal_forms.HARD)


_SOFT_FORMS = _phrases(legal_forms.SOFT)


# Kazakh/Kyrgyz/Azeri patronymic particles written apart ("Серік ұлы").
_PARTICLES = frozenset({"uly", "uuly", "ugly", "kyzy", "qyzy", "kizi", "qizi", "ogly", "oglu", "ogli", "gyzy"})


# Each map turns one language's rendering of Russian into English-style
# romanisation; regex alternation order puts longer keys first.
_GERMAN = {"schtsch": "shch", "tsch": "ch", "sch": "sh", "ch": "kh", "j": "y", "w": "v", "z": "ts"}


_FRENCH = {"chtch": "shch", "tch": "ch", "ch": "sh", "dj": "dzh", "j": "zh", "ou": "u", "gue": "ge", "gui": "gi"}


_SPANISH = {"j": "kh", "x": "kh"}


_COMMON = {
    "sch": "sh",
    "kh": "h",
    "ck": "k",
    "ph": "f",
    "zh": "j",
    "x": "ks",
    "w": "v",
    "q": "k",
    "y": "i",
}


def _compile(mapping: dict[str, str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, sorted(mapping, key=len, reverse=True))))


_LANG_MAPS = tuple((_compile(m), m) for m in ({}, _GERMAN, _FRENCH, _SPANISH))


_COMMON_RE = _compile(_COMMON)


# Latin c is a k sound before a/o/u (Mejanica, Nicolai).
_HARD_C_RE = re.compile(r"c(?=[aou])")


_DOUBLE_RE = re.compile(r"(.)\1+")


# ie/ye -> e and consonant+io -> e fold the е/ё renderings (Andreyevich, Fiodor).
_VOWEL_RE = re.compile(r"ie|(?<=[bdfghklmnprstvz])io")


def normalize(text: str) -> str:
    """NFKC + casefold, drop apostrophes, turn punctuation/symbols into spaces.

    Letters, combining marks and digits are kept; everything is collapsed to
    single spaces. Idempotent.
    """
    text = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES))
    text = unicodedata.normalize("NFKC", text.casefold())
    chars = [ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in text]
    return " ".join("".join(chars).split())


def _form_units(text: str) -> list[tuple[str, bool]]:
    """normalize(text)'s tokens, each with whether a hyphen glues it to a neighbour: the
    Тоо of Ala-Too is part of a name (Ала-Тоо, the mountains), not the legal form ТОО.

    Read word by word (what `str.split` separates maps to spaces whatever the words around
    it, and no normalisation joins across it), each word's units kept: names share words."""
    return [unit for word in text.split() for unit in _word_units(word)]


@lru_cache(maxsize=MEMO)
def _word_units(text: str) -> tuple[tuple[str, bool], ...]:
    text = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES))
    text = unicodedata.normalize("NFKC", text.casefold())
    chars = [ch if unicodedata.category(ch)[0] in "LMN" else "-" if unicodedata.category(ch) == "Pd" else " "
             for ch in text]  # fmt: skip
    units: list[tuple[str, bool]] = []
    for chunk in "".join(chars).split():
        parts = [part for part in chunk.split("-") if part]
        units += [(part, len(parts) > 1) for part in parts]
    return tuple(units)


@lru_cache(maxsize=MEMO)
def _latin_key(token: str) -> str:
    """The token as a legal form is looked up: itself in Latin, else its transliteration."""
    return token if token.isascii() else "".join(transliterate(token).split())


def _form_size(toks: list[str], keys: list[str], i: int, forms: frozenset[tuple[str, ...]]) -> int:
    """How many tokens from i spell a form of `forms` (0: none), as written or
    transliterated, or as a dotted abbreviation of three or more letters (М.Ч.Ж., T.O.O.)."""
    # a form starts with one of its first words: most tokens are none (no tuple built)
    if i < len(toks) and (toks[i] in _FORM_STARTS or keys[i] in _FORM_STARTS):
        for size in range(min(_MAX_FORM_LEN, len(toks) - i), 0, -1):
            if tuple(toks[i : i + size]) in forms or tuple(keys[i : i + size]) in forms:
                return size
    run = 0
    while i + run < len(keys) and len(keys[i + run]) <= 2:
        run += 1
    for size in range(run, 2, -1):
        if ("".join(keys[i : i + size]),) in forms:
            return size
    return 0


def _strip_edges(toks: list[str], keys: list[str]) -> tuple[int, int]:
    """The span left once soft legal forms are dropped at either end, while >= 2 tokens stay."""
    lo, hi = 0, len(toks)
    changed = True
    while changed:
        changed = False
        size = _form_size(toks[lo : hi - 2], keys[lo : hi - 2], 0, _SOFT_FORMS)  # two tokens stay
        if size:
            lo, changed = lo + size, True
            continue
        for start in range(max(hi - _MAX_FORM_LEN, lo + 2), hi):
            if _form_size(toks[start:hi], keys[start:hi], 0, _SOFT_FORMS) == hi - start:
                hi, changed = start, True
                break
    return lo, hi


def strip_legal_forms(text: str) -> str:
    """Remove legal-form tokens (ООО, ТОО, LLP, TOO, GmbH, ОсОО, МЧЖ, ՍՊԸ...) in any script.

    Unambiguous forms go wherever they stand; ambiguous ones (IP, AO, AG, ...)
    only at the edges. A word hyphenated to another is never a form. If nothing
    would remain, the normalized name is kept.
    """
    return _strip(text)[0]


@lru_cache(maxsize=MEMO)
def _strip(text: str) -> tuple[str, frozenset[str]]:
    """(strip_legal_forms(text), the transliterated tokens of the hard forms it dropped
    from between two kept words of the name: Тоо in "Ала Тоо Агромаш")."""
    toks, (kept, dropped) = _planned(text)
    if not kept:
        return " ".join(toks), frozenset()
    first, last = kept[0], kept[-1]
    inside = {t for i, size in dropped if first < i < last for t in transliterate(" ".join(toks[i : i + size])).split()}
    return " ".join(toks[k] for k in kept), frozenset(inside)


def _kept(text: str) -> tuple[str, ...]:
    """strip_legal_forms(text).split(), without joining them."""
    toks, (kept, _) = _planned(text)
    return tuple(toks[k] for k in kept) if kept else tuple(toks)


def _planned(text: str) -> tuple[list[str], tuple[tuple[int, ...], tuple[tuple[int, int], ...]]]:
    """The units of `_form_units(text)` and their `_strip_plan`."""
    toks: list[str] = []
    shapes: list[tuple[str, str]] = []
    for word in text.split():  # as `_form_units`, a word at a time
        word_toks, word_shapes = _word_shapes(word)
        toks += word_toks
        shapes += word_shapes
    return toks, _strip_plan(tuple(shapes))


# Stands for a unit that can take part in no legal form: a registry's names are a few
# hundred words in many orders, and the forms stripped depend only on the units' shapes.
_PLAIN = ("\0plain", "\0plain")


@lru_cache(maxsize=MEMO)
def _word_shapes(word: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """One written word's units (`_word_units`) and their shapes (`_unit_shape`)."""
    units = _word_units(word)
    return tuple(tok for tok, _ in units), tuple(_unit_shape(tok, glued) for tok, glued in units)


def _unit_shape(tok: str, glued: bool) -> tuple[str, str]:
    """(match, key) of one unit as `_form_size` reads it: a glued token matches no form
    (a placeholder), and a word of no form phrase, too long to be a letter of a dotted
    abbreviation, is `_PLAIN`."""
    match, key = (tok, _latin_key(tok)) if not glued else ("-", "-")
    if match not in _FORM_WORDS and key not in _FORM_WORDS and len(key) > 2:
        return _PLAIN
    return match, key


@lru_cache(maxsize=MEMO)
def _strip_plan(shapes: tuple[tuple[str, str], ...]) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    """Which units a name of these shapes keeps and which hard forms (start, size) it drops."""
    match = [m for m, _ in shapes]
    keys = [k for _, k in shapes]
    kept: list[int] = []
    dropped: list[tuple[int, int]] = []
    i = 0
    while i < len(shapes):
        size = _form_size(match, keys, i, _HARD_FORMS)
        if size:
            dropped.append((i, size))
            i += size
        else:
            kept.append(i)
            i += 1
    lo, hi = _strip_edges([match[k] for k in kept], [keys[k] for k in kept])
    return tuple(kept[lo:hi]), tuple(dropped)


def transliterate(text: str) -> str:
    """Lower-case ASCII via anyascii; soft/hard-sign apostrophes are dropped."""
    ascii_text = anyascii(text).translate(_APOSTROPHES).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text).split())


def _native_phrases(block: str) -> frozenset[tuple[str, ...]]:
    """Full legal-form phrases in their own script, and as they transliterate."""
    phrases = [normalize(p) for p in block.split("|") if p.strip()]
    return frozenset(tuple(p.split()) for text in phrases for p in (text, transliterate(text)))


_HARD_FORMS |= _phrases(legal_forms.REGIONAL_HARD) | _native_phrases(legal_forms.REGIONAL_PHRASES)
_SOFT_FORMS |= _phrases(legal_forms.REGIONAL_SOFT)
_MAX_FORM_LEN = max(len(p) for p in _HARD_FORMS | _SOFT_FORMS)


_SOFT_TOKENS = frozenset(p[0] for p in _SOFT_FORMS if len(p) == 1)


_FORM_STARTS = frozenset(p[0] for p in _HARD_FORMS | _SOFT_FORMS)


_FORM_WORDS = frozenset(word for p in _HARD_FORMS | _SOFT_FORMS for word in p)


def _merge_particles(toks: list[str]) -> list[str]:
    """Glue 'uly'/'kyzy'/'ogly' onto the preceding name: 'serik uly' -> 'serikuly'."""
    out: list[str] = []
    for tok in toks:
        if tok in _PARTICLES and out:
            out[-1] += tok
        else:
            out.append(tok)
    return out


def _foreign(token: str) -> bool:
    """Written with letters of another script than Latin (Cyrillic, Armenian, Georgian...)."""
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in token)


@lru_cache(maxsize=MEMO)
def _native_token(native: str) -> tuple[tuple[str, ...], bool]:
    """One written token's transliterated tokens, and whether it is in another script
    (names share few distinct words: a registry load meets each word many times)."""
    return tuple(transliterate(native).split()), _foreign(native)


@lru_cache(maxsize=4 * MEMO)
def _token_info(name: str) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    """(sorted tokens, those written in plain ASCII, those written in another script).

    Tokens are transliterated one by one; where each came from decides how it may be read
    as an English word (`_scorer`)."""
    return _kept_info(_kept(name))


@lru_cache(maxsize=MEMO)
def _kept_info(kept: tuple[str, ...]) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    """`_token_info` of a name that keeps these units: many spellings keep the same."""
    toks: list[str] = []
    ascii_toks: set[str] = set()
    foreign: set[str] = set()
    for native in kept:
        rendered, is_foreign = _native_token(native)
        for tok in rendered:
            toks.append(tok)
            (foreign if is_foreign else ascii_toks if native.isascii() else set()).add(tok)
    if not toks:
        # Letters anyascii cannot render still deserve a comparable token.
        toks = list(kept)
    return tuple(sorted(_merge_particles(toks))), frozenset(ascii_toks), frozenset(foreign)


def _tokens(name: str) -> tuple[str, ...]:
    return _token_info(name)[0]


def tokens(name: str) -> list[str]:
    """Normalize, strip legal forms, transliterate; return sorted tokens."""
    return list(_tokens(name))


def _apply(pattern: re.Pattern[str], mapping: dict[str, str], text: str) -> str:
    return pattern.sub(lambda m: mapping[m.group()], text)


@lru_cache(maxsize=MEMO)
def _variants(token: str) -> tuple[str, ...]:
    out: set[str] = set()
    for pattern, mapping in _LANG_MAPS:
        text = _apply(pattern, mapping, token) if mapping else token
        text = _HARD_C_RE.sub("k", _apply(_COMMON_RE, _COMMON, text))
        text = _DOUBLE_RE.sub(r"\1", text)
        text = _DOUBLE_RE.sub(r"\1", _VOWEL_RE.sub("e", text))
        out.add(text or token)
    return tuple(sorted(out))


def fold_variants(token: str) -> set[str]:
    """Spelling-fold variants of one Latin token.

    One variant per rendering hypothesis (English, German, French, Spanish),
    each then folded in common: kh/x->h, y->i, w->v, sch->sh, zh->j, c->k
    before a/o/u, ie->e, doubled letters collapsed. German j->i and ch->h,
    French ch->sh, Spanish j->h. Input is transliterated and lower-cased first.
    """
    folded = "".join(transliterate(token).split())
    return set(_variants(folded)) if folded else set()
