"""When two people rows of the registry name one person: the same-person rule.

Both the per-declaration reference (`registry.RegistryLookup`, `links.py`) and the
compiled registry (`entities.compiled`) use this module, so they link the same people.

**Candidates.** Each natural-person row (a row whose `person_company_id` is empty) carries
keys computed from its name and id (`person_keys`):

- `x:` its exact key (the normalised, sorted tokens: `name_text.tokens`);
- `p:` pair keys: two words of three letters or more, each as a consonant skeleton of its
  spelling-fold variants (`gldb+il`), so Илья Гольдберг, Ilya Goldberg and Iliá Goldberg
  share one, and so does Гольдберг Илья Маркович (a patronymic adds keys, it takes none);
- `n:` initials keys: a word of three letters or more with the first letter of another
  word (`gldb+i`), shared by "Goldberg I. M." and "Ilya Goldberg";
- `i:` the person id, normalised (`normalize_id`), when the row has one.

Two rows of different companies are a candidate pair when they share a key carried by at
most `MAX_NAMESAKES` (50) rows of the people file: a key carried by more links nobody
(a common name says too little; so does an id repeated across 51 rows).

**The rule** (`pair_match`, then `classify` at the policy's name threshold), on each
candidate pair, compared in load order (the earlier row first, so the answer is the same
both ways round):

- both rows have a person id: the same id is one person (method `person_id`), two
  different ids are two people whatever the names;
- otherwise two different birth dates are two people;
- otherwise the names decide (`names.compare`): a score at or above the threshold is one
  person (`name`); names that agree only up to initials ("Goldberg I. M." ~ Ilya
  Goldberg, `names.initials_match`) are one person when both rows give the same birth
  date (`initials+birth_date`, at the full words' score), and weak evidence otherwise
  (`initials`: `parties.linked_weak`, never a link or a path step).

The evidence (`why`) of a pair is worded from the side it is read from: `names.compare`
of the source row's name with the other row's name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..contract.input_text import ascii_digits
from . import names
from .name_text import _tokens, _variants
from .names import _pair_keys, _token_keys

if TYPE_CHECKING:
    import polars as pl

MAX_NAMESAKES = 50  # rows that may carry one key; past that the key links nobody

STRONG = "strong"
WEAK = "weak"


# called for every step of every link search; 64k entries (~13 MB): a batch worker's
# 262k filled with every id of its run, ~50 MB at saturation
@lru_cache(maxsize=65_536)
def normalize_id(value: str | None) -> str | None:
    """An id as registry ids are compared: ASCII digits, letters upper-cased, no separators."""
    if not value:
        return None
    compact = "".join(ch for ch in ascii_digits(value) if ch.isalnum()).upper()
    return compact or None


def normalize_ids(values: pl.Series) -> pl.Series:
    """`normalize_id` of each value (null where it gives None), for a registry load: ASCII
    ids by a polars expression (the same letters and digits, upper-cased), others in Python."""
    import polars as pl  # not for a cold submit

    values = values.cast(pl.Utf8)
    ascii_ = values.str.len_bytes() == values.str.len_chars()
    quick = values.str.replace_all("[^A-Za-z0-9]", "").str.to_uppercase()
    quick = pl.select(pl.when(quick == "").then(None).otherwise(quick)).to_series()
    other = values.filter(~ascii_.fill_null(True)).drop_nulls().unique()
    if other.is_empty():
        return quick.alias(values.name)
    slow = pl.Series([normalize_id(v) for v in other.to_list()], dtype=pl.Utf8)
    found = values.replace_strict(other, slow, default=None, return_dtype=pl.Utf8)
    return pl.select(pl.when(ascii_).then(quick).otherwise(found)).to_series().alias(values.name)


def same_id(a: str | None, b: str | None) -> bool:
    """Both ids given, and one id once normalised."""
    return bool(a and b) and normalize_id(a) == normalize_id(b)


def name_keys(name: str) -> frozenset[str]:
    """The `x:`, `p:` and `n:` keys of a person's name (see the module's docstring)."""
    toks = _tokens(name)
    keys = {"x:" + " ".join(toks)} if toks else set()
    keys |= {"p:" + key for key in _pair_keys(name)}
    for i, tok in enumerate(toks):
        if len(tok) < 3:
            continue
        letters = {v[0] for j, other in enumerate(toks) if j != i for v in _variants(other) if v}
        keys |= {f"n:{skeleton}+{letter}" for skeleton in _token_keys(tok) for letter in letters}
    return frozenset(keys)


def person_keys(name: str, person_id: str | None) -> frozenset[str]:
    ident = normalize_id(person_id)
    return name_keys(name) | ({"i:" + ident} if ident else set())


@dataclass(frozen=True)
class PairMatch:
    """What the rule says of two rows, read from the earlier one; `detail` is the
    evidence read from the side given to `pair_match` first."""

    kind: str  # person_id | name
    score: float
    full_score: float  # the full words' score when only initials fell short (else 0)
    initials: bool
    same_birth: bool


def pair_match(
    first: tuple[str, str | None, dt.date | None], second: tuple[str, str | None, dt.date | None]
) -> PairMatch | None:
    """The match of two natural-person rows (name, person id, birth date), `first` being
    the earlier row in load order; None when the rule keeps them apart."""
    (name_a, id_a, born_a), (name_b, id_b, born_b) = first, second
    if id_a and id_b:
        if normalize_id(id_a) != normalize_id(id_b):
            return None
        return PairMatch("person_id", 1.0, 0.0, False, False)
    if born_a and born_b and born_a != born_b:
        return None
    if not names.may_match(name_a, name_b):
        return None
    match = names.compare(name_a, name_b)
    same_birth = born_a is not None and born_a == born_b
    return PairMatch("name", match.score, match.full_score, match.initials, same_birth)


def classify(match: PairMatch, threshold: float) -> tuple[str, float, str] | None:
    """(strong or weak, score, method) of a pair at this name threshold, or None."""
    if match.kind == "person_id":
        return STRONG, 1.0, "person_id"
    if match.initials and match.full_score >= threshold and match.score < threshold:  # names.initials_match
        if match.same_birth:
            return STRONG, match.full_score, "initials+birth_date"
        return WEAK, match.score, "initials"
    if match.score >= threshold:
        return STRONG, match.score, "name"
    return None


@dataclass(frozen=True)
class SharedPerson:
    """One person of two companies, read from the first (the exporter's side)."""

    exporter_person: str
    exporter_role: str
    consignee_person: str
    consignee_role: str
    score: float
    method: str
    detail: str


@dataclass(frozen=True)
class PersonLink:
    """A row of the company asked about, a row of another company the rule pairs it with
    (`registry_rows.PersonRecord`s), that company's key and the match of the pair."""

    row: Any
    other: Any
    other_company: str
    match: PairMatch

    def shared(self, threshold: float) -> tuple[str, SharedPerson] | None:
        """(strong or weak, the shared person read from `row`) at this threshold, or None."""
        found = classify(self.match, threshold)
        if found is None:
            return None
        strength, score, method = found
        detail = why(method, (self.row.person_name, self.row.person_id), self.other.person_name)
        row, other = self.row, self.other
        shared = SharedPerson(row.person_name, row.role.value, other.person_name, other.role.value,
                              round(score, 3), method, detail)  # fmt: skip
        return strength, shared


def why(method: str, source: tuple[str, str | None], other_name: str) -> str:
    """The evidence of a pair read from `source` (its name and person id)."""
    if method == "person_id":
        return f"same person id {source[1]}"
    detail = names.compare(source[0], other_name).detail
    return f"{detail}; same birth date" if method == "initials+birth_date" else detail
