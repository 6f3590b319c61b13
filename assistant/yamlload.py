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


MAX_VALUES = 100_000  # far beyond any real file; only aliases (*a inside *b inside ...) get there


def _located(value: Located, source: str, node: yaml.Node) -> Any:
    value.source = source
    value.line = node.start_mark.line + 1
    return value


class _Converter:
    """Node tree -> located values. Aliases are allowed, but not one that contains itself, and not
    a chain of them that multiplies into millions of values (the "billion laughs")."""

    def __init__(self, source: str, loader: _WordSafeLoader) -> None:
        self.source = source
        self.loader = loader
        self.count = 0
        self.open: set[int] = set()  # the nodes being converted right now, outermost first

    def convert(self, node: yaml.Node) -> Any:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_VALUES:
            raise ContentError(f"{self.source}:{line}: more than {MAX_VALUES} values: aliases (*name) expand this file too far")
        if id(node) in self.open:
            raise ContentError(f"{self.source}:{line}: an alias (*name) that contains itself")
        self.open.add(id(node))
        try:
            return self._convert(node, line)
        finally:
            self.open.discard(id(node))

    def _convert(self, node: yaml.Node, line: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            result = _located(LDict(), self.source, node)
            result.key_lines = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                key_line = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    shown = repr(key) if key is not None else "a list or mapping"
                    raise ContentError(f"{self.source}:{key_line}: keys must be words, not {shown}")
                if key in result:
                    raise ContentError(f"{self.source}:{key_line}: '{key}' appears twice")
                result[key] = self.convert(value_node)
                result.key_lines[key] = key_line
            return result
        if isinstance(node, yaml.SequenceNode):
            items = LList(self.convert(item) for item in node.value)
            return _located(items, self.source, node)
        value = self.scalar(node)
        if isinstance(value, str):
            return _located(LStr(value), self.source, node)
        return value

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar's value; a value its tag cannot hold (`!!int abc`, the date 2001-13-45) is an error."""
        try:
            return self.loader.construct_object(node)
        except yaml.MarkedYAMLError as exc:
            raise ContentError(f"{self.source}:{node.start_mark.line + 1}: {exc.problem or exc.context}") from None
        except Exception as exc:  # noqa: BLE001 - PyYAML's constructors fail in many ways on a bad value (IndexError for `!!int`)
            raise ContentError(f"{self.source}:{node.start_mark.line + 1}: '{node.value}' cannot be read as {node.tag.rsplit(':', 1)[-1]}: {exc}") from None


def load_yaml(path: Path) -> Any:
    """Parse one file; unreadable files, bad UTF-8 and syntax errors become ContentError with file and line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"{path}: cannot be read ({exc.strerror or exc})", "check the path and that the file is yours to read") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})", "save the file as UTF-8") from None
    return load_yaml_text(text, str(path))


def load_yaml_text(text: str, source: str) -> Any:
    try:
        loader = _WordSafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character anywhere: found before parsing starts
        raise _reader_error(exc, text, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ContentError(f"{source}:1: the file is empty", "write the content described in docs/authoring.md")
        return _Converter(source, loader).convert(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ContentError(f"{source}:{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source) from None
    except RecursionError:
        raise ContentError(f"{source}:{loader.get_mark().line + 1}: nested too deeply") from None
    finally:
        loader.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, source: str) -> ContentError:
    line = text[: exc.position].count("\n") + 1
    return ContentError(f"{source}:{line}: the character U+{exc.character:04X} is not allowed in a YAML file")


def where(value: Any, fallback: str) -> str:
    """`file:line` of a loaded value, or the fallback for values that carry no position (numbers)."""
    return value.where if isinstance(value, Located) else fallback
