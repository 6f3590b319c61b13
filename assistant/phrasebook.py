"""What hearth teaches: one phrase per command, taken from the intents' `help:`, and how to say it where.

Every spoken or printed instruction that names a command comes from here (engine lines, exercise
prompts, the status line, `hearth history`, help), so none can drift from the phrase the recognizer
was measured to hear best. Content YAML names a command as `{cmd:NAME}`; `resolve_commands` puts
the help phrase in at load time and rejects a name no intent defines with file:line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ContentError
from .intents import CONTEXTS, IntentSet
from .yamlload import LDict, LList, LStr

COMMAND = re.compile(r"\{cmd:([^{}]*)\}")


@dataclass(frozen=True)
class Phrasebook:
    """The taught phrase of each intent, and where it must be addressed with the wake name."""

    wake: str = "hearth"
    help: Mapping[str, str] = field(default_factory=dict)  # intent -> its help phrase
    live: Mapping[str, frozenset[str]] = field(default_factory=dict)  # context -> intents live there
    addressed: Mapping[str, frozenset[str]] = field(default_factory=dict)  # context -> intents needing the wake name

    @classmethod
    def of(cls, intents: IntentSet) -> Phrasebook:
        live = {context: frozenset(i.name for i in intents.live(context)) for context in CONTEXTS}
        addressed = {context: frozenset(i.name for i in intents.live(context) if intents.needs_wake(i, context)) for context in CONTEXTS}
        return cls(intents.wake_name, {i.name: i.help for i in intents.intents}, live, addressed)

    def phrase(self, intent: str) -> str:
        """The bare help phrase: 'ready for the next question'."""
        return self.help[intent]

    def spoken(self, intent: str, context: str) -> str:
        """The phrase as it must be said in a context: 'juniper, hold on a moment' during a turn."""
        phrase = self.help[intent]
        return f"{self.wake}, {phrase}" if intent in self.addressed.get(context, frozenset()) else phrase

    def teaches(self, intent: str, context: str) -> bool:
        return intent in self.help and intent in self.live.get(context, frozenset())

    def all_taught(self) -> list[str]:
        """Every help phrase, bare and addressed (what any instruction may name)."""
        return sorted({p for phrase in self.help.values() for p in (phrase, f"{self.wake}, {phrase}")})


def join_options(phrases: Iterable[str], conjunction: str = "or") -> str:
    """['a', 'b', 'c'] -> 'a, b, or c'; two -> 'a, or b' (a pause before the second choice).
    Phrases with commas of their own ('yes, stop') are set apart with semicolons instead."""
    items = list(phrases)
    if len(items) <= 1:
        return "".join(items)
    comma = ";" if any("," in item for item in items) else ","
    return f"{comma} ".join(items[:-1]) + f"{comma} {conjunction} " + items[-1]


def resolve_commands(tree: Any, phrases: Phrasebook) -> Any:
    """A copy of a loaded YAML tree with every `{cmd:NAME}` replaced by that intent's help phrase.

    Strings keep their file and line, so later errors still point at the right place.
    """
    if isinstance(tree, LStr):
        return _resolve_text(tree, phrases)
    if isinstance(tree, LDict):
        copy = LDict((key, resolve_commands(value, phrases)) for key, value in tree.items())
        copy.source, copy.line, copy.key_lines = tree.source, tree.line, tree.key_lines
        return copy
    if isinstance(tree, LList):
        items = LList(resolve_commands(value, phrases) for value in tree)
        items.source, items.line = tree.source, tree.line
        return items
    return tree


def _resolve_text(text: LStr, phrases: Phrasebook) -> LStr:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in phrases.help:
            known = ", ".join(sorted(phrases.help)) or "none"
            raise ContentError(f"{text.where}: {{cmd:{name}}} names no command (commands: {known})",
                               "use an intent name from the intent files, or keep the built-in intents with `extends: builtin`")
        return phrases.help[name]

    resolved = LStr(COMMAND.sub(replace, str(text)))
    resolved.source, resolved.line = text.source, text.line
    return resolved
