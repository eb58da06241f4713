# Cyrillic literals are the point of this module, not confusables.
# ruff: noqa: RUF001, RUF002, RUF003
"""Match person and company names across scripts and transliteration styles.

Pipeline (see domain notes, "Names across scripts"): NFKC + casefold, strip
legal forms, anyascii, tokenise and sort, build per-token spelling-fold
variants (those steps in `name_text`), score token pairs by the best Jaro-Winkler
over their variants and take the lowest per-token score, so one wrong token sinks
the whole match. The keys a name is filed under, so that candidates meet, are here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA, JaroWinkler

from .name_text import (
    _DOUBLE_RE,
    _SOFT_TOKENS,
    MEMO,
    _kept,
    _kept_info,
    _strip,
    _token_info,
    _tokens,
    _variants,
)
from .transcription import english_fold, english_word

__all__ = ["DEFAULT_THRESHOLD", "NameMatch", "blocking_keys", "compare", "initials_match", "is_match"]

# Measured on the 92 labelled pairs in tests/test_names.py: the worst true pair
# scores 0.94 (Fjodor Kusnezow) and the best decoy 0.90 (an EDIT_CAP case).
DEFAULT_THRESHOLD: float = 0.92
# Caps that keep partial evidence visibly below DEFAULT_THRESHOLD.
INITIAL_SCORE: float = 0.80
GENDER_CAP: float = 0.88
EXTRA_TOKEN_CAP: float = 0.85
EDIT_CAP: float = 0.90


# Checked on fold variants, where owitsch/ovitch/ovich all become "ovich".
_PATRONYMIC_RE = re.compile(r"(?:ich|vna|ichna|uli|ulu|kizi|ogli|oglu|gizi)$")


def _skeleton(variant: str) -> str:
    """First letter plus following consonants: robust to vowel typos."""
    return _DOUBLE_RE.sub(r"\1", variant[:1] + re.sub(r"[aeiou]", "", variant[1:]))


def blocking_keys(name: str) -> set[str]:
    """Short consonant-skeleton keys of each token (>= 3 chars) and its variants."""
    return set(_blocking_keys(name))


# few names come back once their chunk is done (4% of look-ups hit 32k entries on a 1M-line
# batch): a small cache keeps a chunk's repeats, without ~10 MB per process of frozensets
@lru_cache(maxsize=4096)
def _blocking_keys(name: str) -> frozenset[str]:
    return _info_keys(_token_info(name))


def spelling_keys(name: str) -> tuple[str, tuple[str, ...]]:
    """(exact key: the tokens joined, the blocking keys sorted) of a company's spelling,
    computed once per distinct set of units left by `strip_legal_forms` (a registry load
    meets each many times: "OOO Tekhno Agro", "Tekhno Agro LLC")."""
    return _kept_keys(_kept(name), False)


def person_spelling_keys(name: str) -> tuple[str, tuple[str, ...]]:
    """(exact key, `person_blocking_keys` sorted) of a person's name."""
    return _kept_keys(_kept(name), True)


def bulk_spelling_keys(
    spellings: list[str], person: bool, known: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """`spelling_keys` (or `person_spelling_keys`) of each spelling, for a registry load:
    once per distinct set of kept units (`known` keeps them across calls), without filling
    the per-name caches (hundreds of thousands of spellings met once each would hold
    hundreds of megabytes there)."""
    known = {} if known is None else known
    out = []
    for spelling in spellings:
        kept = _kept(spelling)
        keys = known.get(kept)
        if keys is None:
            keys = known[kept] = _info_spelling_keys(_kept_info.__wrapped__(kept), person)
        out.append(keys)
    return out


@lru_cache(maxsize=MEMO)
def _kept_keys(kept: tuple[str, ...], person: bool) -> tuple[str, tuple[str, ...]]:
    return _info_spelling_keys(_kept_info(kept), person)


def _info_spelling_keys(
    info: tuple[tuple[str, ...], frozenset[str], frozenset[str]], person: bool
) -> tuple[str, tuple[str, ...]]:
    keys = _info_keys(info) | _toks_pair_keys(info[0]) if person else _info_keys(info)
    return " ".join(info[0]), tuple(sorted(keys))


def _info_keys(info: tuple[tuple[str, ...], frozenset[str], frozenset[str]]) -> frozenset[str]:
    toks, ascii_toks, foreign = info
    long_toks = [t for t in toks if len(t) >= 3] or list(toks)
    # an English word also gets the keys of its Cyrillic rendering (bridge: bridzh), and
    # a rendering those of the English word (Трейдинг: trading); each token's share is
    # cached (`_word_keys`): a registry's names are a few hundred words in many orders
    parts = [_word_keys(t, t not in foreign) for t in long_toks]
    parts += [_word_keys(f, f not in foreign) for t in long_toks if t in ascii_toks for f in (_english_fold(t),)]
    return frozenset().union(*parts)


@lru_cache(maxsize=MEMO)
def _word_keys(token: str, latin: bool) -> frozenset[str]:
    """`_token_keys` of the token and of the English word it spells (`english_word`), if any."""
    word = english_word(token, latin)
    return _token_keys(token) | _token_keys(word) if word else _token_keys(token)


@lru_cache(maxsize=MEMO)
def _english_fold(token: str) -> str:
    return english_fold(token)


@lru_cache(maxsize=MEMO)
def _token_keys(token: str) -> frozenset[str]:
    """The blocking keys of one token: the skeletons of its variants."""
    return frozenset(_skeleton(v)[:4] for v in _variants(token))


def _pair_keys(name: str) -> frozenset[str]:
    """Keys of two tokens together: 'gldb+il'. A person shares them with far fewer people
    than a surname's key alone (thousands of Akhmetovs, a few Akhmetov Ruslans)."""
    return _toks_pair_keys(_tokens(name))


def _toks_pair_keys(tokens: tuple[str, ...]) -> frozenset[str]:
    toks = [t for t in tokens if len(t) >= 3]
    per_token = [_token_keys(t) for t in toks]
    return frozenset(
        "+".join(sorted((x, y))) for i, a in enumerate(per_token) for b in per_token[i + 1 :] for x in a for y in b
    )


def person_blocking_keys(name: str) -> set[str]:
    """A person's name's keys: those of its tokens and of its pairs of tokens. Searches
    skip oversized blocks (`name_search.MAX_PERSON_BLOCK`): a common surname's own key
    then stops mattering, and the pair keys still find the person."""
    return set(_blocking_keys(name) | _pair_keys(name))


def may_match(a: str, b: str) -> bool:
    """Cheap pre-check: names that can match share at least one blocking key."""
    return not _blocking_keys(a).isdisjoint(_blocking_keys(b))


@dataclass(frozen=True)
class NameMatch:
    """Score in 0..1 and a human-readable account of how it was reached."""

    score: float
    detail: str
    # Set when initials (Goldberg I. M.) are all that fell short: every full token
    # matched at `full_score`. Callers may treat that as weak evidence, never as a match.
    initials: bool = False
    full_score: float = 0.0


def _is_initial(token: str) -> bool:
    return len(token) == 1 and token.isalpha()


def _is_patronymic(token: str) -> bool:
    return any(_PATRONYMIC_RE.search(v) for v in _variants(token))


def _gendered(x: str, y: str) -> bool:
    """Masculine/feminine forms of one surname: -ov/-ova, -in/-ina, -ski/-skaia."""
    short, long_ = sorted((x, y), key=len)
    if len(short) < 4:
        return False
    if long_ == short + "a" and short[-1] in "vn":
        return True
    stem = short[:-1] if short.endswith(("ski", "oi")) else ""
    return bool(stem) and long_ in {stem + "aia", stem + "a", short[:-2] + "aia"}


def _similarity(a: str, b: str) -> float:
    """Jaro-Winkler, capped when the spellings need more than one or two edits.

    Jaro-Winkler rewards shared prefixes, so Ivan~Ivanov or Petrov~Petrovsky
    score above 0.93; fold variants leave true renderings within one edit
    (two for long tokens), which separates them from those.
    """
    jw = JaroWinkler.normalized_similarity(a, b)
    allowed = 1 if max(len(a), len(b)) <= 9 else 2
    if OSA.distance(a, b, score_cutoff=allowed) > allowed:
        return min(jw, EDIT_CAP)
    return jw


@lru_cache(maxsize=MEMO)
def _pair(x: str, y: str) -> tuple[float, str]:
    """Score one token pair (x <= y); second item tags initials/gender."""
    if x == y:
        return 1.0, ""
    vx, vy = _variants(x), _variants(y)
    if _is_initial(x) or _is_initial(y):
        init, full = (vx, vy) if _is_initial(x) else (vy, vx)
        hit = any(f.startswith(i) for i in init for f in full)
        return (INITIAL_SCORE, "initial") if hit else (0.0, "")
    best = max(_similarity(a, b) for a in vx for b in vy)
    if best < 1.0 and any(_gendered(a, b) for a in vx for b in vy):
        return min(best, GENDER_CAP), "gender"
    return best, ""


def _pair_score(x: str, y: str) -> tuple[float, str]:
    return _pair(x, y) if x <= y else _pair(y, x)


def _merge_split(short: list[str], long_: list[str]) -> tuple[list[str], list[str]]:
    """Join two long-side tokens that spell one short-side token (AspanArba)."""
    notes: list[str] = []
    for tok in sorted(set(short)):
        want = set(_variants(tok))
        for i, x in enumerate(long_):
            for j, y in enumerate(long_):
                # an initial stands for a word of its own: never glued (Petrenko+O folds to Petrenko)
                if _is_initial(x) or _is_initial(y):
                    continue
                if i != j and want & (set(_variants(x + y)) | set(_variants(y + x))):
                    long_ = [t for k, t in enumerate(long_) if k not in (i, j)] + [tok]
                    notes.append(f"'{x}'+'{y}' merged")
                    break
            else:
                continue
            break
    return long_, notes


@lru_cache(maxsize=MEMO)
def _english_pair(latin: str, other: str) -> float:
    """An English word against a token written in another script, read as a Russian
    speaker writes it (gulf ~ galf from Галф); 0 when the spelling has nothing English."""
    folded = english_fold(latin)
    if folded == latin:
        return 0.0
    return max(_similarity(a, b) for a in _variants(folded) for b in _variants(other))


@lru_cache(maxsize=MEMO)
def _table_pair(x: str, y: str, x_latin: bool, y_latin: bool) -> float:
    """Tokens read through the table of English trade words (Трейдинг: trading), each
    as itself or as the English word it spells; 0 when neither spells one."""
    ex, ey = english_word(x, x_latin), english_word(y, y_latin)
    if ex is None and ey is None:
        return 0.0
    pairs = [(u, w) for u in {x, ex or x} for w in {y, ey or y} if (u, w) != (x, y)]
    return max((_similarity(a, b) for u, w in pairs for a in _variants(u) for b in _variants(w)), default=0.0)


Scorer = Callable[[str, str], tuple[float, str]]


def _scorer(a: str, b: str) -> Scorer:
    """Token pair scores for names a and b. A token that spells an English trade word
    (Трейдинг, or Treiding read back from it) is also read as that word, and an ASCII
    token against one the other name wrote in another script also by its English spelling."""
    _, ascii_a, foreign_a = _token_info(a)
    _, ascii_b, foreign_b = _token_info(b)

    def score(x: str, y: str) -> tuple[float, str]:
        best = _pair_score(x, y)
        if best[0] < 1.0 and (table := _table_pair(x, y, x not in foreign_a, y not in foreign_b)) > best[0]:
            best = (table, "table")
        if x in ascii_a and y in foreign_b:
            english = _english_pair(x, y)
        elif x in foreign_a and y in ascii_b:
            english = _english_pair(y, x)
        else:
            return best
        return (english, "english") if english > best[0] else best

    return score


def _assign(
    ta: list[str], tb: list[str], scorer: Scorer = _pair_score
) -> tuple[list[tuple[int, int, float, str]], list[int], list[int]]:
    """Greedy best-first one-to-one pairing; exact equality wins ties."""
    cands: list[tuple[float, bool, tuple[str, ...], int, int, str]] = []
    for i, x in enumerate(ta):
        for j, y in enumerate(tb):
            score, tag = scorer(x, y)
            cands.append((-score, x != y, tuple(sorted((x, y))), i, j, tag))
    cands.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[tuple[int, int, float, str]] = []
    for neg, _, _, i, j, tag in cands:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j, -neg, tag))
    rest_a = [i for i in range(len(ta)) if i not in used_a]
    rest_b = [j for j in range(len(tb)) if j not in used_b]
    return pairs, rest_a, rest_b


@lru_cache(maxsize=MEMO)
def compare(a: str, b: str) -> NameMatch:
    """Score two names (person or company) in any script or spelling.

    The score is the lowest per-token score. Initials and masculine/feminine
    surname forms are capped below DEFAULT_THRESHOLD. Unmatched tokens are
    tolerated only if they are one patronymic (with >= 2 matched tokens) or
    soft legal forms; otherwise the score is scaled by the share of matched
    tokens and capped below threshold.
    """
    ta, tb = list(_tokens(a)), list(_tokens(b))
    if not ta or not tb:
        same = bool(a.strip()) and a.strip().casefold() == b.strip().casefold()
        return NameMatch(1.0 if same else 0.0, "no comparable tokens")
    notes: list[str] = []
    if len(ta) < len(tb):
        tb, notes = _merge_split(ta, tb)
    elif len(tb) < len(ta):
        ta, notes = _merge_split(tb, ta)
    pairs, rest_a, rest_b = _assign(ta, tb, _scorer(a, b))
    score = min(s for _, _, s, _ in pairs)
    parts = [f"'{ta[i]}'~'{tb[j]}' {s:.2f}" for i, j, s, _ in sorted(pairs)]
    tags = {tag for *_, tag in pairs}
    if "initial" in tags:
        notes.append("initials only")
    if "gender" in tags:
        notes.append("masculine/feminine surname forms")
    if "table" in tags:
        notes.append("English trade word written in Cyrillic")
    if "english" in tags:
        notes.append("English spelling read as written in Cyrillic")
    extras = [ta[i] for i in rest_a] + [tb[j] for j in rest_b]
    inside = _strip(a)[1] | _strip(b)[1] if extras else frozenset()
    unexplained = _explain_extras(extras, len(pairs), notes, "initial" in tags, inside)
    if unexplained:
        dice = 2 * len(pairs) / (2 * len(pairs) + len(unexplained))
        score = min(score * dice, EXTRA_TOKEN_CAP)
        notes.append("unmatched " + ", ".join(f"'{t}'" for t in unexplained))
    detail = "tokens " + ", ".join(parts) + "".join(f"; {n}" for n in notes)
    full = [s for _, _, s, tag in pairs if tag != "initial"]
    by_initials = "initial" in tags and bool(full) and not unexplained
    return NameMatch(score, detail, by_initials, min(full) if by_initials else 0.0)


def _explain_extras(
    extras: list[str], matched: int, notes: list[str], initials: bool = False, inside: frozenset[str] = frozenset()
) -> list[str]:
    """Return extras that are neither a patronymic nor a soft legal form.

    Beside initials, a lone extra initial stands for the patronymic (Goldberg I. M.
    against Ilya Goldberg); the match stays capped at INITIAL_SCORE either way. A word
    one name keeps (glued: Ala-Too) and the other dropped as a legal form from `inside`
    its name (Ala Too Agromash) is one word written two ways.
    """
    unexplained: list[str] = []
    patronymic_used = False
    for tok in sorted(extras):
        if not patronymic_used and matched >= 2 and (_is_patronymic(tok) or (initials and _is_initial(tok))):
            patronymic_used = True
            notes.append(f"patronymic '{tok}' ignored")
        elif (tok in _SOFT_TOKENS or english_word(tok, False) in _SOFT_TOKENS) and matched >= 1:
            notes.append(f"legal form '{tok}' ignored")
        elif tok in inside and matched >= 1:
            notes.append(f"'{tok}' read as a word of the name, not as the legal form")
        else:
            unexplained.append(tok)
    return unexplained


def initials_match(match: NameMatch, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """A weak match: the full tokens reach the threshold and only initials fall short.

    "Goldberg I. M." cannot tell Ilya from Igor: it is evidence to look at, never a match.
    """
    return match.initials and match.full_score >= threshold and match.score < threshold


def is_match(a: str, b: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """Return whether compare(a, b) reaches threshold."""
    return compare(a, b).score >= threshold
