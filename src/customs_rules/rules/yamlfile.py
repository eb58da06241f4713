"""Safe YAML that remembers where each mapping and key came from.

Rule files and reference lists are YAML written by analysts; errors must say file:line.
Only PyYAML's SafeLoader is used: rule files can never construct Python objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..contract.errors import LocatedError, Location


class LineDict(dict[str, Any]):
    """A mapping that knows its own line and the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    line: int = 0


MAX_DEPTH = 100  # nested mappings and lists: rules need about 70 (32 all/any/not levels)


class TooDeep(yaml.composer.ComposerError):
    """Nesting past MAX_DEPTH: refused while composing, before PyYAML's own recursion
    (composing and constructing recurse per level) can exhaust Python's stack."""


class _Loader(yaml.SafeLoader):
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self._depth >= MAX_DEPTH:
            raise TooDeep(None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise yaml.constructor.ConstructorError(None, None, "mapping keys must be plain text", key_node.start_mark)
        key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
# Dates stay text: the rule model parses and checks them itself, with a location
_Loader.yaml_constructors.pop("tag:yaml.org,2002:timestamp", None)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# The same loader over libyaml's C parser, when PyYAML has it: parsing the bundled pack
# takes a tenth of the time, which an officer's cold `submit` pays on every call.
_FastLoader: type[Any] = _Loader
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(yaml.CSafeLoader):
        yaml_constructors = dict(_Loader.yaml_constructors)
        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

    _FastLoader = _CLoader


def load_documents(path: Path, display: str) -> tuple[list[Any], list[LocatedError]]:
    """All YAML documents of a file, or the located syntax error that stops it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [LocatedError(Location(display), f"cannot read: {exc}")]
    try:
        return [d for d in yaml.load_all(text, Loader=_FastLoader) if d is not None], []
    except yaml.YAMLError:
        pass  # parsed again below, so the error reads the same with or without libyaml
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None], []
    except TooDeep as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return [], [LocatedError(Location(display, line), f"{exc.problem}; rule conditions nest at most 32 levels")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return [], [LocatedError(Location(display, line), f"YAML syntax: {what}")]
    except yaml.YAMLError as exc:
        return [], [LocatedError(Location(display), f"YAML: {exc}")]


def line_of(node: Any, key: str | None = None) -> int | None:
    """The line of a mapping (or of one of its keys), if the node came from a file."""
    if isinstance(node, LineDict):
        return node.line_of(key) if key else node.line
    if isinstance(node, LineList):
        return node.line
    return None
