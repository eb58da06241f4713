"""Which names cannot reach the threshold against any of a list of names (issue #13, item 4).

`names.compare` pairs the tokens of two names one to one and scores the pair by its
worst token pair; a token left over that is neither a patronymic, a soft legal form, nor
a word dropped as a legal form from inside a name caps the score at `EXTRA_TOKEN_CAP`.
So above that cap, a name matches a listed name only if each of its tokens (a) is close
to a token of that listed name, by one of the readings `compare` gives them, or (b) may
be such a leftover, unless (c) two tokens glue into one (`_merge_split`), which changes
the pairing: then no bound is claimed. `NameBound.may_match` asks whether some listed
name is close to every token of a name; the listed names close to a token come from
rapidfuzz (`process.extract`), once per distinct token of a process.

Every reading `compare` scores a token pair by (its fold variants, the English trade word
it spells, its English fold) is among the token's `readings`, and the edit and gender
caps only lower a score: the best Jaro-Winkler similarity of two tokens' readings bounds
their pair's score from above.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from .name_text import _FORM_WORDS, _SOFT_TOKENS, _strip, _tokens, _variants, transliterate
from .names import EXTRA_TOKEN_CAP, _is_initial, _is_patronymic
from .spelling_keys import exact_keys
from .transcription import english_fold, english_word

MARGIN = 1e-9  # the bound errs toward a match: it may only let more names through
KEPT = 65_536  # answers per memo (tokens, pairs of tokens) a process keeps; all forgotten when full
# a token's mask is as wide as the list (bit n for listed name n): the tokens kept are
# fewer for a long list, so that their masks hold at most this many bits (32 MB)
MASK_BITS_KEPT = 8 * 32 * 2**20


class NameBound:
    """The tokens of a list of names (a watchlist's), for `may_match`."""

    def __init__(self, listed: Iterable[str], threshold: float) -> None:
        self.threshold = threshold
        listed = list(listed)
        entries = [_tokens(name) for name in listed]
        self._entries: dict[str, list[int]] = {}  # a listed token's reading -> the names it is read in
        for n, toks in enumerate(entries):
            for reading in {r for t in toks for r in readings(t)}:
                self._entries.setdefault(reading, []).append(n)
        self._readings = sorted(self._entries)
        self._variants = {v for toks in entries for t in toks for v in _variants(t)}
        # a token of a name that two tokens of a listed name glue into (AspanArba ~ Aspan Arba)
        self._glued = {
            v for toks in entries for i, a in enumerate(toks) for j, b in enumerate(toks) if i != j
            for v in _variants(a + b)
        }  # fmt: skip
        # a listed name without tokens is compared as text (`compare`)
        self._bare = {name.strip().casefold() for name, toks in zip(listed, entries, strict=True) if not toks}
        self._inside = frozenset().union(*(_strip(name)[1] for name in listed))
        # a token -> the listed names near it, bit n for name n; None: it may be left over
        self._near: dict[str, int | None] = {}
        self._near_kept = min(KEPT, max(1024, MASK_BITS_KEPT // max(1, len(listed))))  # tokens `_near` keeps
        self._glue: dict[str | tuple[str, str], bool] = {}  # `_glues`, per token and pair of tokens

    def may_match(self, name: str) -> bool:
        """False when `names.compare(name, x).score < threshold` for every listed x: some
        listed name is close to each of its tokens that cannot be left over."""
        if self.threshold <= EXTRA_TOKEN_CAP:  # an unexplained leftover no longer rules a match out
            return True
        toks = _tokens(name)
        if not toks or name.strip().casefold() in self._bare:
            return True  # `compare` then compares the text itself
        if any(t not in self._near for t in toks):
            self._learn(toks)
        if self._common(toks, frozenset()):
            return True
        # the words dropped from inside the name as legal forms may be left over too
        if self._common(toks, _strip(name)[1]):
            return True
        # a glued token changes which tokens pair: then no bound is claimed
        return any(self._glues(n, toks) for n in range(len(toks)))

    def may_match_column(self, spellings: pl.Series, exact: pl.Series | None = None) -> pl.Series:
        """`may_match` of each spelling, in order, by columns: the Python work is done once
        per distinct token and pair of tokens (a batch's names share their words), and
        once per name only for the names no listed name is near (their legal forms).
        `exact`: the spellings' exact keys (`names.spelling_keys`: the tokens joined by
        one space), when the caller has them."""
        size = len(spellings)
        if self.threshold <= EXTRA_TOKEN_CAP or not size:
            return pl.Series("may", [True] * size, dtype=pl.Boolean)
        exact = exact_keys(spellings) if exact is None else exact
        toks = (
            pl.DataFrame({"tok": exact.cast(pl.Utf8)}).with_row_index("row")
            .with_columns(pl.col("tok").str.split(" ")).explode("tok")
            .filter(pl.col("tok").is_not_null() & (pl.col("tok") != "")).with_row_index("at")
        )  # fmt: skip
        self._learn(toks.get_column("tok").unique().to_list())
        may = self._near_every_token(toks, size)
        if self._bare:  # `compare` compares a listed name without tokens as text
            may = may | pl.Series([s is None or s.strip().casefold() in self._bare for s in spellings.to_list()])
        rest = toks.filter(pl.col("row").is_in(pl.int_range(size, eager=True).filter(~may).implode()))
        glued = self._glued_rows(rest)
        left = rest.filter(~pl.col("row").is_in(glued.implode()))
        spared = self._spared_rows(left, spellings)
        rows = pl.int_range(size, dtype=pl.UInt32, eager=True)
        return (may | rows.is_in(glued.implode()) | rows.is_in(spared.implode())).alias("may")

    def _near_every_token(self, toks: pl.DataFrame, size: int) -> pl.Series:
        """Per row: whether some listed name is near each of its tokens that cannot be
        left over (`_common` with nothing spare); a row with no such token may match."""
        # the listed names near a token are a bit mask: a row's answer is the AND of its
        # tokens' masks, a few integer operations (a join of rows with the names near each
        # token made millions of rows a chunk: common words are near many listed names)
        near = self._near
        grouped = toks.group_by("row").agg("tok")
        may = [True] * size
        for row, tokens in zip(grouped.get_column("row").to_list(), grouped.get_column("tok").to_list(), strict=True):
            common = -1  # every listed name, until a token that cannot be left over narrows it
            for tok in tokens:
                mask = near[tok]
                if mask is not None:
                    common &= mask
                    if not common:
                        may[row] = False
                        break
        return pl.Series(may, dtype=pl.Boolean)

    def _glued_rows(self, toks: pl.DataFrame) -> pl.Series:
        """The rows with a token two listed tokens glue into, or two tokens that glue into
        a listed one (`_glues` of some token)."""
        one = toks.get_column("tok").unique().to_list()
        glued = pl.Series([t for t in one if self._glued_token(t)], dtype=pl.Utf8)
        by_token = toks.filter(pl.col("tok").is_in(glued.implode())).get_column("row")
        pairs = toks.join(toks, on="row", suffix="_b").filter(pl.col("at") < pl.col("at_b"))
        pairs = pairs.with_columns(
            pl.min_horizontal("tok", "tok_b").alias("a"), pl.max_horizontal("tok", "tok_b").alias("b")
        )  # fmt: skip
        distinct = pairs.select("a", "b").unique()
        hits = distinct.filter(pl.Series([self._glued_pair(a, b) for a, b in distinct.iter_rows()], dtype=pl.Boolean))
        by_pair = pairs.join(hits, on=["a", "b"]).get_column("row")
        return pl.concat([by_token, by_pair]).unique()

    def _spared_rows(self, toks: pl.DataFrame, spellings: pl.Series) -> pl.Series:
        """The rows near a listed name once the words dropped from inside the name as
        legal forms may be left over too (`_common` with those spare), per name."""
        # a word dropped as a legal form is a piece of one: a name none of whose tokens is
        # such a piece has no spare token (`_form_pieces`)
        pieces = toks.filter(pl.col("tok").is_in(_form_pieces().implode()))
        toks = toks.filter(pl.col("row").is_in(pieces.get_column("row").implode()))
        grouped = toks.group_by("row").agg("tok")
        texts = spellings.gather(grouped.get_column("row")).to_list()
        found = [
            row for row, tokens, text in zip(grouped.get_column("row").to_list(), grouped.get_column("tok").to_list(),
                                             texts, strict=True)
            if not (spare := _strip(text)[1]).isdisjoint(tokens) and self._common(tuple(tokens), spare)
        ]  # fmt: skip
        return pl.Series(found, dtype=pl.UInt32)

    def _common(self, toks: tuple[str, ...], spare: frozenset[str]) -> bool:
        """Whether some listed name is near every token not `spare` nor left over."""
        found = -1  # a bit per listed name: all of them
        for tok in toks:
            near = self._near[tok]
            if near is None or tok in spare:
                continue
            found &= near
            if not found:
                return False
        return True

    def _glues(self, n: int, toks: tuple[str, ...]) -> bool:
        """Whether token n glues with another of its name into a listed token, or two
        tokens of a listed name glue into it (`names._merge_split`)."""
        tok = toks[n]
        return self._glued_token(tok) or any(self._glued_pair(tok, other) for other in toks[:n] + toks[n + 1 :])

    def _glued_token(self, tok: str) -> bool:
        """Whether two tokens of a listed name glue into `tok` (asked once per token)."""
        known = self._glue
        if len(known) >= KEPT:
            known.clear()  # bounded memory over a long run: names bring new numbers and pairs
        if (found := known.get(tok)) is None:
            found = known[tok] = not self._glued.isdisjoint(_variants(tok))
        return found

    def _glued_pair(self, tok: str, other: str) -> bool:
        """Whether `tok` and `other` glue into a listed token, in either order (asked once per pair)."""
        known, pair = self._glue, (tok, other) if tok <= other else (other, tok)
        if len(known) >= KEPT:
            known.clear()
        if (found := known.get(pair)) is None:
            # uncached: a pair's glue is met once, and would push single tokens out of `_variants`'s cache
            fold = _variants.__wrapped__
            found = known[pair] = not self._variants.isdisjoint(fold(tok + other) + fold(other + tok))
        return found

    def _learn(self, new: Sequence[str]) -> None:
        """Per new token of a name, the listed names with a reading within the threshold of one of
        its readings; None for a token that may be left over (`_explainable`, or a word a
        listed name dropped from inside it)."""
        cutoff = self.threshold - MARGIN
        fresh = sorted({t for t in new if t not in self._near})
        if len(self._near) + len(fresh) > self._near_kept:
            self._near.clear()  # bounded memory; the name asking is learnt whole again
            fresh = sorted(set(new))
        for tok in fresh:
            if _explainable(tok) or tok in self._inside:
                self._near[tok] = None
                continue
            near: set[int] = set()
            for reading in readings(tok):
                found = process.extract(reading, self._readings, scorer=JaroWinkler.normalized_similarity,
                                        score_cutoff=cutoff, limit=None)  # fmt: skip
                for listed, _, _ in found:
                    near.update(self._entries[listed])
            self._near[tok] = sum(1 << n for n in near)


def readings(token: str) -> set[str]:
    """Every spelling `names.compare` may score a token by: its fold variants, and those
    of the English trade word it spells (read as Latin or not) and of its English fold."""
    found = set(_variants(token))
    for other in (english_word(token, True), english_word(token, False), english_fold(token)):
        if other and other != token:
            found.update(_variants(other))
    return found


@cache
def _form_pieces() -> pl.Series:
    """Every token a unit dropped as a hard legal form can transliterate to: a form is
    matched by its words as written, or by their Latin keys (a unit's transliteration,
    blanks removed), or by the keys of a dotted abbreviation's letters joined
    (`name_text._form_size`), so a dropped unit's tokens are pieces of a form word, as
    written or transliterated."""
    found: set[str] = set()
    for word in _FORM_WORDS:
        for text in {"".join(transliterate(word).split()), word}:
            found.update(text[i:j] for i in range(len(text)) for j in range(i + 1, len(text) + 1))
    return pl.Series(sorted(found), dtype=pl.Utf8)


def _explainable(tok: str) -> bool:
    """A leftover `names._explain_extras` may excuse: an initial, a patronymic, a soft legal form."""
    return _is_initial(tok) or _is_patronymic(tok) or tok in _SOFT_TOKENS or english_word(tok, False) in _SOFT_TOKENS
