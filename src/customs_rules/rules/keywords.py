"""Keyword lists (`kind: keyword_list` under `rules/lists/`): the words that say what a
goods description names, and the HS codes those goods belong under.

    kind: keyword_list
    name: drones
    title: Unmanned aircraft (drones)
    source: where the words and codes come from
    references: [HS 2022 heading 8806, ...]
    codes: ["8806", "880730"]          # HS prefixes (2 to 10 digits)
    terms:                             # per language: en, ru, kk, ru_latn
      en: [drone*, quadcopter*, unmanned aerial vehicle*]
      ru: [дрон*, квадрокоптер*, беспилотн* летательн* аппарат*]
    exclude:                           # phrases whose words do not name the goods
      en: [drone* shaped]
    parts:                             # "parts for drones" names drones' parts (8807.30)
      en: [part*, propeller*]
    contexts:                          # codes that fit only when the text also says...
      - codes: ["9503"]
        when: {en: [toy*], ru: [игрушк*, игрушечн*]}

A trailing `*` lets a word inflect (see `entities.goods_text`). Every error is located.
"""

from __future__ import annotations

from typing import Any

from ..contract.errors import LocatedError, Location
from ..entities.goods_text import LANGUAGES, Context, KeywordList, Term, parse_term
from .yamlfile import line_of

KEYS = {"kind", "name", "title", "source", "references", "codes", "terms", "exclude", "contexts", "parts"}


def load_keyword_list(doc: dict[str, Any], display: str) -> tuple[KeywordList | None, list[LocatedError]]:
    """One `keyword_list` document, or None with the located reasons it is not one."""
    errors: list[LocatedError] = []

    def err(key: str | None, message: str, at: int | None = None) -> None:
        line = at if at is not None else line_of(doc, key.partition(".")[0]) if key else line_of(doc)
        errors.append(LocatedError(Location(display, line, field=key), message))

    for key in doc:
        if key not in KEYS:
            err(str(key), f"unknown key {key!r}; keyword list keys are: {', '.join(sorted(KEYS))}")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        err("name", "missing list name")
    refs = doc.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        err("references", "references must be a list of texts")
        refs = []
    codes = _codes(doc.get("codes"), "codes", err)
    if not codes:
        err("codes", "codes: name the HS prefixes the goods belong under")
    terms = _terms(doc.get("terms"), "terms", err)
    if not terms:
        err("terms", "terms: give at least one term, under a language (en, ru, kk, ru_latn)")
    exclude = _terms(doc.get("exclude"), "exclude", err)
    parts = _terms(doc.get("parts"), "parts", err)
    contexts = _contexts(doc.get("contexts"), err)
    if errors:
        return None, errors
    found = KeywordList(
        str(name),
        str(doc.get("title") or name),
        str(doc["source"]),
        codes,
        terms,
        exclude,
        contexts,
        tuple(refs),
        parts,
    )
    return found, errors


def _codes(value: Any, key: str, err: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        if value is not None:
            err(key, f"{key} must be a list of HS prefixes")
        return ()
    codes = []
    for raw in value:
        code = str(raw).replace(".", "").replace(" ", "")
        if not (code.isascii() and code.isdigit() and 2 <= len(code) <= 10) or isinstance(raw, bool | float):
            err(key, f"{key}: {raw!r} must be an HS prefix of 2 to 10 digits (quote it in YAML)")
            continue
        codes.append(code)
    return tuple(codes)


def _terms(value: Any, key: str, err: Any) -> tuple[Term, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        err(key, f"{key} must map a language ({', '.join(LANGUAGES)}) to a list of terms")
        return ()
    found: list[Term] = []
    for lang, texts in value.items():
        where = f"{key}.{lang}"
        if lang not in LANGUAGES:
            err(where, f"unknown language {lang!r}; languages are: {', '.join(LANGUAGES)}", line_of(value, lang))
            continue
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            err(where, f"{where} must be a list of texts", line_of(value, lang))
            continue
        for text in texts:
            try:
                found.append(parse_term(text, str(lang)))
            except ValueError as exc:
                err(where, str(exc), line_of(value, lang))
    return tuple(found)


def _contexts(value: Any, err: Any) -> tuple[Context, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        err("contexts", "contexts must be a list of {codes, when}")
        return ()
    found = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"codes", "when"}:
            at = line_of(entry) if isinstance(entry, dict) else None
            err("contexts", "each context has exactly codes and when", at)
            continue
        codes = _codes(entry["codes"], "contexts.codes", err)
        terms = _terms(entry["when"], "contexts.when", err)
        if codes and terms:
            found.append(Context(codes, terms))
    return tuple(found)
