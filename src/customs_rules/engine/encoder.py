"""Facts to what the engine reads: each fact flattened to the properties of the pack's
`Layout`, numbers and dates as ranks, list and group memberships as boolean flags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..rules.reference import ReferenceData
from .patterns import Layout, encode, named_lists


class FactEncoder:
    """`Layout.engine_fact`, prepared once per pack: a batch encodes millions of facts.

    Each field the rules read gets its stand-in through a small memo (the values rules
    can tell apart are few), and a goods code's lists or a country's groups are looked
    up once per fact, not once per flag. Keys are set in the layout's order, always the
    same, so equal facts give equal item sequences. A test keeps it equal to the layout's
    plain definition.
    """

    MEMO = 4096  # values remembered per field before its memo starts afresh

    def __init__(self, layout: Layout, reference: ReferenceData) -> None:
        self.layout, self.reference = layout, reference
        self.fields: list[tuple[str, str, dict[Any, Any]]] = [(name, key, {}) for name, key in layout.fields.items()]
        self.lists: dict[str, list[tuple[str, str]]] = {}
        for (name, list_name), key in layout.list_flags.items():
            self.lists.setdefault(name, []).append((list_name, key))
        self.groups: dict[str, list[tuple[str, str]]] = {}
        for (name, group), key in layout.group_flags.items():
            self.groups.setdefault(name, []).append((group, key))

    def sources(self) -> list[str]:
        """The facts the engine's view is made of, each once, in the layout's order."""
        names = [name for name, _, _ in self.fields]
        return list(dict.fromkeys([*names, *self.lists, *self.groups]))

    def part(self, name: str, value: Any) -> tuple[tuple[str, Any], ...]:
        """The engine keys that fact `name` holding `value` gives, with their values: the
        pieces `fact` is made of, computed once per distinct value by the set core."""
        found: dict[str, Any] = {}
        for field_name, key, _ in self.fields:
            if field_name == name and value is not None:
                encoded = encode(name, value)
                if encoded is not None:
                    found[key] = self.layout.canonical(name, encoded)
        if value is not None and name in self.lists:
            lists = named_lists(name, value, self.reference)
            found |= {key: list_name in lists for list_name, key in self.lists[name]}
        if value is not None and name in self.groups:
            countries = value if isinstance(value, list) else [value]
            found_groups = set().union(*(self.reference.groups_for(c) for c in countries))
            found |= {key: group in found_groups for group, key in self.groups[name]}
        return tuple(found.items())

    def fact(self, values: Mapping[str, Any]) -> dict[str, Any]:
        fact: dict[str, Any] = {}
        for name, key, memo in self.fields:
            value = values.get(name)
            if value is None:
                continue
            # by type too: 1 == True, and a memo must not hand one for the other
            memo_key = (value.__class__, value) if value.__class__ is not list else (list, len(value))
            stand_in = memo.get(memo_key, memo)
            if stand_in is memo:
                encoded = encode(name, value)
                stand_in = None if encoded is None else self.layout.canonical(name, encoded)
                if len(memo) >= self.MEMO:
                    memo.clear()
                memo[memo_key] = stand_in
            if stand_in is not None:
                fact[key] = stand_in
        for name, flags in self.lists.items():
            value = values.get(name)
            if value is not None:
                lists = named_lists(name, value, self.reference)
                for list_name, key in flags:
                    fact[key] = list_name in lists
        for name, flags in self.groups.items():
            value = values.get(name)
            if value is None:
                continue
            countries = value if isinstance(value, list) else [value]
            found = set().union(*(self.reference.groups_for(c) for c in countries))
            for group, key in flags:
                fact[key] = group in found
        return fact
