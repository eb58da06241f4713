"""Name search over the spellings of records (company names and aliases, people's names).

An exact match of the normalised tokens wins outright; otherwise the records sharing the
most (and the rarest) blocking keys are compared with `names.compare`. `NameIndex` holds
the spellings in memory; `store.registry_db.StoredNames` reads them from key tables.
"""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

from . import name_text, names

MAX_CANDIDATES = 25  # names compared per lookup, best blocking overlap first
# Person blocks bigger than this are skipped (a surname shared by thousands); pair keys
# (surname + given name) stay small. Company blocks are never skipped.
MAX_PERSON_BLOCK = 1_000
NO_LIMIT = 1 << 62
KeyFunction = Callable[[str], set[str]]


Hit = tuple[Any, str, str, names.NameMatch]  # record, name or alias, the spelling, the match


class NameSearch:
    """Find a name among the spellings (names, aliases) of records, across scripts.

    An exact match of the normalised tokens wins outright; otherwise the records sharing
    the most (and the rarest) blocking keys are compared with `names.compare`. Common
    words ("trade", "group") put many records in one block: weighting each shared key by
    the rarity of its block keeps the true match on top, and capping the candidates keeps
    a lookup in the milliseconds on a large registry. Subclasses say where records live.
    """

    def __init__(self, threshold: float, keys: KeyFunction = names.blocking_keys, max_block: int = NO_LIMIT) -> None:
        self.threshold = threshold
        self.keys = keys  # names.blocking_keys for companies, names.person_blocking_keys for people
        self.max_block = max_block

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        raise NotImplementedError

    def candidates(self, blocks: set[str]) -> list[Any]:
        raise NotImplementedError

    def spellings(self, record: Any) -> list[tuple[str, str]]:
        raise NotImplementedError

    def ranked(self, name: str, limit: int) -> list[Hit]:
        """The best candidates whatever their score, best first (for an analyst's review)."""
        key = " ".join(name_text.tokens(name))
        hits: dict[tuple[Any, str], Hit] = {}
        for record, kind, spelling in self.exact(key):
            hits[(record, spelling)] = (record, kind, spelling, names.NameMatch(1.0, "same name once normalised"))
        for record in self.candidates(self.keys(name)):
            for kind, spelling in self.spellings(record):
                hits.setdefault((record, spelling), (record, kind, spelling, names.compare(name, spelling)))
        best: dict[Any, Hit] = {}
        for hit in sorted(hits.values(), key=lambda h: -h[3].score):
            best.setdefault(hit[0], hit)  # one line per record: its best spelling
        return list(best.values())[:limit]

    def matches(self, name: str, limit: int, initials: bool = False) -> list[Hit]:
        """Every record at or above the threshold, exact and fuzzy alike, best first.

        Unlike `search`, an exact spelling does not hide the others: "Goldberg Ilya" must
        also find "Гольдберг Илья Маркович". `limit` bounds the fan-out of a common name.
        With `initials`, names that agree only up to initials are found too ("Petrenko
        O. N." ~ "Petrenko Oleg"): people whose birth dates may then make them one.
        """
        hits: dict[Any, Hit] = {}
        for record, kind, spelling in self.exact(" ".join(name_text.tokens(name)))[:limit]:
            hits.setdefault(record, (record, kind, spelling, names.NameMatch(1.0, "same name once normalised")))
        for record in self.candidates(self.keys(name)):
            for kind, spelling in self.spellings(record):
                if record not in hits and self._found(match := names.compare(name, spelling), initials):
                    hits[record] = (record, kind, spelling, match)
        return sorted(hits.values(), key=lambda hit: -hit[3].score)[:limit]

    def _found(self, match: names.NameMatch, initials: bool) -> bool:
        return match.score >= self.threshold or (initials and names.initials_match(match, self.threshold))

    def search(self, name: str, accept: Callable[[Any], bool]) -> list[Hit]:
        """Matches at or above the threshold, best first."""
        exact = [h for h in self.exact(" ".join(name_text.tokens(name))) if accept(h[0])]
        if exact:
            return [(r, k, sp, names.NameMatch(1.0, "same name once normalised")) for r, k, sp in exact]
        found = []
        for record in self.candidates(self.keys(name)):
            if not accept(record):
                continue
            for kind, spelling in self.spellings(record):
                match = names.compare(name, spelling)
                if match.score >= self.threshold:
                    found.append((record, kind, spelling, match))
        return sorted(found, key=lambda hit: -hit[3].score)


def best_candidates(members: Mapping[str, Collection[Any]], max_block: int) -> list[Any]:
    """The MAX_CANDIDATES records sharing the most, and the rarest, blocks: each block
    weighs 1 / its size; blocks bigger than `max_block` are skipped. Both back-ends rank
    through this one function, so they agree on the candidates and their order.

    A search meets thousands of records in big blocks: the weights are summed in a plain
    dict, in the blocks' sorted order (the same floating-point sums whatever the back-end),
    and only the records that can be among the best are sorted."""
    weights: dict[Any, float] = {}
    for block in sorted(members):
        found = members[block]
        size = len(found)
        if not size or size > max_block:
            continue
        weight = 1.0 / size
        if not weights:
            weights = dict.fromkeys(found, weight)
            continue
        get = weights.get
        for record in found:
            weights[record] = get(record, 0.0) + weight
    if len(weights) > MAX_CANDIDATES:
        # the best weights include the 25th; ties with it are settled below by record key
        cut = heapq.nlargest(MAX_CANDIDATES, weights.values())[-1]
        near = [record for record, weight in weights.items() if weight >= cut]
    else:
        near = list(weights)
    near.sort(key=lambda record: (-weights[record], record))
    return near[:MAX_CANDIDATES]


class NameIndex(NameSearch):
    """Spellings held in memory; records are numbers given by the caller."""

    def __init__(self, threshold: float, keys: KeyFunction = names.blocking_keys, max_block: int = NO_LIMIT) -> None:
        super().__init__(threshold, keys, max_block)
        self._exact: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self._blocks: dict[str, set[int]] = defaultdict(set)
        self._spellings: dict[int, list[tuple[str, str]]] = defaultdict(list)

    def add(self, record: int, kind: str, spelling: str) -> None:
        self._exact[" ".join(name_text.tokens(spelling))].append((record, kind, spelling))
        self._spellings[record].append((kind, spelling))
        for block in self.keys(spelling):
            self._blocks[block].add(record)

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        return list(self._exact.get(key, []))

    def candidates(self, blocks: set[str]) -> list[Any]:
        return best_candidates({block: self._blocks.get(block, set()) for block in blocks}, self.max_block)

    def spellings(self, record: Any) -> list[tuple[str, str]]:
        return self._spellings[record]


class SpellingIndex:
    """The exact and blocking keys of company spellings as sorted columns
    (`compile.name_frames`), found by binary search on the keys' stable hashes: no dict,
    list or tuple per spelling (those cost ~150 MB per process at 100k companies), and,
    from the snapshot a batch's workers map, no copy either.

    `exact(key)` and `spellings(pk)` give (pk, kind, spelling) in load order, as the
    dicts they replace did; `block(key)` each company of a blocking key once."""

    def __init__(self, names: pl.DataFrame, blocks: pl.DataFrame, key_hash: Callable[[str], int]) -> None:
        self._key_hash = key_hash
        self._hash, self._pk = _ints(names["hash"]), _ints(names["pk"])
        self._key, self._kind, self._spelling = names["key"], names["spelling_kind"], names["spelling"]
        self._by_company, self._company_pk = _ints(names["by_company"]), _ints(names["company_pk"])
        self._block_hash, self._block_key, self._block_pk = _ints(blocks["hash"]), blocks["key"], _ints(blocks["pk"])

    def _row(self, i: int) -> tuple[int, str, str]:
        return self._pk[i], self._kind[i], self._spelling[i]

    def exact(self, key: str) -> list[tuple[int, str, str]]:
        h = self._key_hash(key)
        lo = bisect.bisect_left(self._hash, h)
        hi = bisect.bisect_right(self._hash, h, lo)
        return [self._row(i) for i in range(lo, hi) if self._key[i] == key]

    def spellings(self, pk: int) -> list[tuple[int, str, str]]:
        lo = bisect.bisect_left(self._company_pk, pk)
        hi = bisect.bisect_right(self._company_pk, pk, lo)
        return [self._row(self._by_company[j]) for j in range(lo, hi)]

    def block(self, key: str) -> Sequence[int]:
        h = self._key_hash(key)
        lo = bisect.bisect_left(self._block_hash, h)
        hi = bisect.bisect_right(self._block_hash, h, lo)
        if lo == hi:
            return ()
        keys = self._block_key
        if keys[lo] == key and keys[hi - 1] == key:  # the rows of one hash are sorted by key
            return self._block_pk[lo:hi]
        return [self._block_pk[i] for i in range(lo, hi) if keys[i] == key]  # hashes that collide


SMALL = 65_536  # rows of a column copied into an array (a submit's few: pyarrow not imported)


def _ints(column: pl.Series) -> Sequence[int]:
    """An Int64 column as a sequence of ints: a large one over its own Arrow buffer (no
    Python int per row, no copy of a mapped column of one chunk), a small one copied."""
    if len(column) < SMALL:
        return array("q", column.to_list())
    arrow = column.rechunk().to_arrow()
    return memoryview(arrow.buffers()[1]).cast("q")[arrow.offset : arrow.offset + len(arrow)]
