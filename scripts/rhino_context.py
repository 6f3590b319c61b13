"""Convert a Picovoice Rhino context (YAML) into a hearth intents pack.

    python scripts/rhino_context.py CONTEXT.yaml > pack.yaml
    hearth listen --intents pack.yaml --context any --input order.wav --json

Rhino writes `[a, b]` for "one of", `(a)` for "optional" and `$type:name` for a slot; hearth
writes `(a | b)`, `[a]` and `{name}`. Intent and slot names keep their camelCase spelling, so a
pack converted from another tool reports the same labels. The whole pack is live in every context
("any") and needs no wake name: it is meant for measuring, or as a starting point for a pack of
your own.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

_TOKEN = re.compile(r"\$[A-Za-z0-9_]+:[A-Za-z0-9_]+|[\[\](),]|[^\s\[\](),]+")


def convert_expression(expression: str) -> str:
    """One Rhino expression in hearth's template language."""
    out: list[str] = []
    stack: list[str] = []
    for token in _TOKEN.findall(expression):
        if token == "[":
            stack.append("]")
            out.append("(")
        elif token == "(":
            stack.append(")")
            out.append("[")
        elif token in ("]", ")"):
            if not stack or stack.pop() != token:
                raise ValueError(f"unbalanced '{token}' in: {expression}")
            out.append(")" if token == "]" else "]")
        elif token == ",":
            if not stack or stack[-1] != "]":
                raise ValueError(f"a comma outside [...] in: {expression}")
            out.append("|")
        elif token.startswith("$"):
            out.append("{" + token.split(":", 1)[1] + "}")
        else:
            out.append(token.lower())
    if stack:
        raise ValueError(f"unclosed bracket in: {expression}")
    return " ".join(out).replace("( ", "(").replace(" )", ")").replace("[ ", "[").replace(" ]", "]")


def convert(context: dict[str, Any]) -> dict[str, Any]:
    """The pack as a mapping ready for yaml.safe_dump."""
    body = context["context"]
    slot_types: dict[str, list[str]] = body.get("slots") or {}
    lists: dict[str, Any] = {}
    intents: dict[str, Any] = {}
    for intent, expressions in body["expressions"].items():
        templates = []
        for expression in expressions:
            for slot_type, slot_name in re.findall(r"\$([A-Za-z0-9_]+):([A-Za-z0-9_]+)", expression):
                lists[slot_name] = {"values": [str(v).lower() for v in slot_types[slot_type]]}
            templates.append(convert_expression(expression))
        intents[intent] = {"contexts": ["any"], "templates": templates}
    return {"version": 1, "lists": lists, "intents": intents}


def convert_file(path: Path) -> str:
    return yaml.safe_dump(convert(yaml.safe_load(path.read_text(encoding="utf-8"))), sort_keys=False, width=200)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    sys.stdout.write(convert_file(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
