"""Load YAML so that every value remembers where it came from, and yes/no stay words.

Content files are written by people; when one is wrong, the error must say `file:line: what`.
`yaml.compose` keeps the marks, and this module turns the node tree into ordinary dicts, lists and
strings that carry their line. YAML 1.1 reads bare `yes`, `no`, `on`, `off` as booleans, which
would silently turn a spoken answer into `True`; this loader only treats `true`/`false` as booleans.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError

BOOL_TAG = "tag:yaml.org,2002:bool"


class _WordSafeLoader(yaml.SafeLoader):
    """SafeLoader whose only booleans are true/false."""


_WordSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WordSafeLoader.add_implicit_resolver(
    BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class Located:
    """Mixin: where a value stands in its file."""

    source: str = "<string>"
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


class LStr(str, Located):
    """A string that knows its file and line."""


class LList(list[Any], Located):
    """A list that knows its file and line."""


class LDict(dict[str, Any], Located):
    """A mapping that knows its file and line, and the line of each key."""

    key_lines: dict[str, int]

    def where_of(self, key: str) -> str:
        return f"{self.source}:{self.key_lines.get(key, self.line)}"

    def only(self, allowed: tuple[str, ...] | set[str], what: str) -> None:
        """Reject keys a person mistyped or invented, naming the line and the keys that exist."""
        for key in self:
            if key not in allowed:
                raise ContentError(f"{self.where_of(key)}: unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})")


def _located(value: Located, source: str, node: yaml.Node) -> Any:
    value.source = source
    value.line = node.start_mark.line + 1
    return value


def _convert(node: yaml.Node, source: str, loader: _WordSafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = _located(LDict(), source, node)
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str):
                raise ContentError(f"{source}:{key_node.start_mark.line + 1}: keys must be words, not {key!r}")
            if key in result:
                raise ContentError(f"{source}:{key_node.start_mark.line + 1}: '{key}' appears twice")
            result[key] = _convert(value_node, source, loader)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LList(_convert(item, source, loader) for item in node.value)
        return _located(items, source, node)
    value = loader.construct_object(node)
    if isinstance(value, str):
        return _located(LStr(value), source, node)
    return value


def load_yaml(path: Path) -> Any:
    """Parse one file; syntax errors become ContentError with file and line."""
    text = path.read_text(encoding="utf-8")
    return load_yaml_text(text, str(path))


def load_yaml_text(text: str, source: str) -> Any:
    loader = _WordSafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ContentError(f"{source}:1: the file is empty", "write the content described in docs/authoring.md")
        return _convert(node, source, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ContentError(f"{source}:{line}: not valid YAML: {exc.problem or exc.context}") from None
    finally:
        loader.dispose()


def where(value: Any, fallback: str) -> str:
    """`file:line` of a loaded value, or the fallback for values that carry no position (numbers)."""
    return value.where if isinstance(value, Located) else fallback
