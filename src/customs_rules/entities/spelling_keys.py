"""Company name keys of many spellings at once, as columns (issue #13, item 3): a
registry load's company names and aliases, and the declared names of a batch's parties
(`exact_keys`: the key the registry finds a party by, and a party's history key).

`names.spelling_keys` of each spelling, with the Python work done once per distinct
*word* (its units and their shapes: `name_text._word_shapes`), once per distinct
sequence of word shapes (which legal forms go: `name_text._strip_plan`), and once per
distinct word with the units it keeps (their transliterated tokens, `name_text._native_token`,
and those tokens' blocking keys, `names._word_keys`); polars assembles each spelling's
keys from those by integer codes. A registry's 344k spellings are ~700 distinct words.

A spelling whose keys depend on more than its words one at a time takes the
per-spelling path (`names.bulk_spelling_keys`): a blank other than one space between
words, a Latin token (or the English fold of an ASCII one) that the name also writes in
another script (its keys depend on the whole name's tokens), a patronymic particle
(glued to the token before it), or no token of three letters or more.
"""

from __future__ import annotations

import polars as pl

from . import names
from .name_text import _PARTICLES, _native_token, _strip_plan, _word_shapes

CODE = pl.UInt32
BLOCKS_SCHEMA = {"row": CODE, "key": pl.Utf8}


def exact_keys(spellings: pl.Series) -> pl.Series:
    """`names.spelling_keys(s)[0]` of each spelling, in order (the name key a party is
    found by, and the history key of a party without an id)."""
    return company_spelling_keys(spellings, blocking=False)[0].get_column("exact")


def company_spelling_keys(spellings: pl.Series, blocking: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each spelling's exact key (`exact`: one per row, in order) and its blocking keys
    (`blocks`: (row, key) rows, each row's keys sorted, rows in order): `names.spelling_keys`.
    Without `blocking`, `blocks` is left empty (a party's history key needs the exact key only)."""
    rows = pl.DataFrame({"spelling": spellings.cast(pl.Utf8)}).with_row_index("row")
    # where str.split() and split(" ") differ (Python also splits at \x1c-\x1f, the regex's \s does not)
    odd = pl.col("spelling").str.contains(r"[^\S ]|[\x1c-\x1f]|  |^ | $|^$")
    words = rows.filter(~odd).select("row", pl.col("spelling").str.split(" ").alias("word")).explode("word")
    distinct = words["word"].unique(maintain_order=True)
    words = words.select("row", pl.col("word").replace_strict(distinct, pl.int_range(distinct.len(), dtype=CODE,
                                                                                      eager=True)))  # fmt: skip
    shapes, units, by_code = _word_table(distinct.to_list())
    # the plan of each distinct sequence of word shapes: which units of each word stay
    words = words.with_columns(pl.col("word").replace_strict(list(range(len(shapes))), shapes).alias("shape"))
    plans = words.group_by("row", maintain_order=True).agg("shape")
    sequences = plans.select(pl.col("shape").unique())
    masks = [_masks(sequence, by_code) for sequence in sequences["shape"].to_list()]
    sequences = sequences.with_columns(code_lists("mask", masks))
    kept = plans.join(sequences, on="shape", how="left", maintain_order="left").select("row", "mask").explode("mask")
    variants = words.select("row", "word").hstack(kept.select("mask"))
    variants = variants.filter(pl.col("mask") != 0)
    # each distinct (word, kept units): its tokens and their keys
    table, tokens, keys = _variant_table(variants.select("word", "mask").unique(), units)
    variants = variants.join(table, on=["word", "mask"], how="left", maintain_order="left")
    easy = variants.group_by("row").agg(pl.col("hard").any(), pl.col("long").any())
    easy = easy.filter(~pl.col("hard") & pl.col("long")).join(_clashes(variants), on="row", how="anti")
    variants = variants.join(easy.select("row"), on="row", how="semi").select("row", "variant")
    exact = _exact(variants, table, tokens)
    blocks = _blocks(variants, table, keys) if blocking else pl.DataFrame(schema=BLOCKS_SCHEMA)
    hard = rows.join(easy.select("row"), on="row", how="anti")
    if hard.height:
        exact, blocks = _slow(hard, exact, blocks, blocking)
    ordered = rows.select("row").join(exact, on="row", how="left", maintain_order="left").select("exact")
    return ordered, blocks.sort("row", maintain_order=True)


Shapes = tuple[tuple[str, str], ...]


def code_lists(name: str, values: list[list[int]]) -> pl.Series:
    """A List(CODE) column of Python lists of codes, travelling as text split by polars:
    polars builds a Series per inner list (~7 µs each; a registry's company keys made
    ~70k of them), at several times this cost. (Arrow builds them faster still, but
    importing pyarrow costs a load ~30 MB of its peak memory.)"""
    text = pl.Series(name, [",".join(map(str, codes)) for codes in values], dtype=pl.Utf8)
    return text.str.split(",").list.eval(pl.element().filter(pl.element() != "").cast(CODE))


def _word_table(words: list[str]) -> tuple[list[int], list[tuple[str, ...]], list[Shapes]]:
    """Each word's shape code and units, and the shapes of its units by code."""
    codes: dict[Shapes, int] = {}
    shapes, units = [], []
    for word in words:
        toks, shape = _word_shapes(word)
        shapes.append(codes.setdefault(shape, len(codes)))
        units.append(toks)
    return shapes, units, list(codes)


def _masks(sequence: list[int], by_code: list[Shapes]) -> list[int]:
    """The units each word of a sequence of shapes keeps, as a bit mask per word
    (`name_text._kept`: every unit when the plan keeps none)."""
    per_word = [by_code[code] for code in sequence]
    kept, _ = _strip_plan(tuple(shape for word in per_word for shape in word))
    chosen = set(kept) if kept else set(range(sum(len(w) for w in per_word)))
    masks, at = [], 0
    for word in per_word:
        masks.append(sum(1 << n for n in range(len(word)) if at + n in chosen))
        at += len(word)
    return masks


def _variant_table(variants: pl.DataFrame, units: list[tuple[str, ...]]) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Per distinct (word, mask): `variant` (a code), `hard` (a particle), `long` (a token
    of 3 letters or more), `tokens` (codes: the list `tokens` holds their text, sorted,
    so codes sort as the text does), `foreign` and `probes` (codes of the tokens written
    in another script, and of the long Latin tokens and English folds, that may clash),
    and `keys` (codes of `keys`: the blocking keys of its long tokens, `names._info_keys`)."""
    found: list[tuple[list[str], list[str], list[str], bool, list[str]]] = []
    for word, mask in variants.iter_rows():
        toks: list[str] = []
        foreign: list[str] = []  # the tokens written in another script
        probes: list[str] = []  # what must not be one of those (long Latin tokens, their folds)
        mine: set[str] = set()
        for n, native in enumerate(units[word]):
            if not mask >> n & 1:
                continue
            rendered, is_foreign = _native_token(native)
            toks += rendered
            if is_foreign:
                foreign += rendered
            for tok in (t for t in rendered if len(t) >= 3):  # `long_toks` (names without: the slow path)
                mine |= names._word_keys(tok, not is_foreign)
                if not is_foreign:
                    probes.append(tok)
                if not is_foreign and native.isascii():
                    fold = names._english_fold(tok)
                    mine |= names._word_keys(fold, True)
                    probes.append(fold)
        found.append((toks, foreign, probes, any(t in _PARTICLES for t in toks), sorted(mine)))
    tokens = sorted({t for toks, *_ in found for t in toks})
    keys = sorted({k for *_, ks in found for k in ks})
    token_code = {t: n for n, t in enumerate(tokens)}
    key_code = {k: n for n, k in enumerate(keys)}
    # only a probe that is some name's foreign token can clash: the others are left out
    risky = {t for _, foreign, *_ in found for t in foreign} & {p for _, _, probes, *_ in found for p in probes}
    table = variants.with_columns(
        pl.int_range(variants.height, dtype=CODE).alias("variant"),
        pl.Series("hard", [f[3] for f in found], dtype=pl.Boolean),
        pl.Series("long", [any(len(t) >= 3 for t in f[0]) for f in found], dtype=pl.Boolean),
        code_lists("tokens", [[token_code[t] for t in f[0]] for f in found]),
        code_lists("foreign", [sorted({token_code[t] for t in f[1] if t in risky}) for f in found]),
        code_lists("probes", [sorted({token_code[t] for t in f[2] if t in risky}) for f in found]),
        code_lists("keys", [[key_code[k] for k in f[4]] for f in found]),
    )  # fmt: skip
    return table, tokens, keys


def _clashes(variants: pl.DataFrame) -> pl.DataFrame:
    """The rows where a long Latin token, or the English fold of an ASCII one, is also a
    token the name wrote in another script (its keys then differ: the slow path)."""
    foreign = variants.select("row", pl.col("foreign").alias("token")).explode("token").drop_nulls()
    probes = variants.select("row", pl.col("probes").alias("token")).explode("token").drop_nulls()
    return probes.join(foreign, on=["row", "token"], how="semi").select("row").unique()


def _exact(variants: pl.DataFrame, table: pl.DataFrame, tokens: list[str]) -> pl.DataFrame:
    """(row, exact): each row's tokens sorted, joined by a space."""
    coded = variants.join(table.select("variant", "tokens"), on="variant", how="left", maintain_order="left")
    coded = coded.select("row", "tokens").explode("tokens").sort("row", "tokens")
    # each row's codes as a list, then their text joined: a third of the time of a text
    # column grouped and joined
    lists = coded.group_by("row", maintain_order=True).agg("tokens")
    text = pl.element().replace_strict(pl.int_range(len(tokens), dtype=CODE, eager=True), tokens, return_dtype=pl.Utf8)
    return lists.select("row", pl.col("tokens").list.eval(text).list.join(" ").alias("exact"))


def _blocks(variants: pl.DataFrame, table: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """(row, key): each row's blocking keys once each, sorted."""
    coded = variants.join(table.select("variant", "keys"), on="variant", how="left", maintain_order="left")
    coded = coded.select("row", "keys").explode("keys").drop_nulls("keys")
    # (row, key) packed as one integer (both are codes below 2**32): unique and sorted as one column
    packed = coded.select(pl.col("row").cast(pl.UInt64) * _PACK + pl.col("keys")).to_series().unique().sort()
    text = pl.Series(keys, dtype=pl.Utf8)
    return pl.DataFrame({"row": (packed // _PACK).cast(CODE), "key": text.gather(packed % _PACK)})


_PACK = 1 << 32


def _slow(
    hard: pl.DataFrame, exact: pl.DataFrame, blocks: pl.DataFrame, blocking: bool
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The hard rows' keys by `names.bulk_spelling_keys`, added to the others'."""
    computed = names.bulk_spelling_keys(hard["spelling"].to_list(), person=False)
    row = hard["row"].to_list()
    exact = pl.concat([exact, pl.DataFrame({"row": row, "exact": [e for e, _ in computed]}, schema=exact.schema)])
    if not blocking:
        return exact, blocks
    pairs = [(r, key) for r, (_, ks) in zip(row, computed, strict=True) for key in ks]
    more = pl.DataFrame(pairs, schema=blocks.schema, orient="row")
    return exact, pl.concat([blocks, more])
