"""Checks across files: intents that promise content, and content that needs intents.

Each file can be valid on its own and still leave a couple stranded: an `info` phrase whose topic
has no explanation ("I don't have anything on that yet", exactly when they ask when to get help), or
an exercise no spoken phrase can start. These run at start-up and in `hearth check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ContentError
from .exercises import Catalog
from .intents import Alt, Intent, IntentSet, Opt, Seq, Slot, SlotList, template_text
from .templates import Node

EXERCISE_FIX = ('add `- in: "[the] spoken name"` and `out: ID` under lists: exercise: values: in an intent file that says '
                "`extends: builtin`, and pass it with --intents (docs/authoring.md)")


@dataclass(frozen=True)
class Problem:
    message: str  # starts with file:line
    fix: str


def problems(intents: IntentSet, catalog: Catalog) -> list[Problem]:
    """Everything wrong between the loaded intents and the loaded content, in file order."""
    found: list[Problem] = []
    by_name = {intent.name: intent for intent in intents.intents}
    if "info" in by_name:
        found += _info_problems(by_name["info"], intents.lists, catalog)
    startable = _slot_values(by_name["start"], "exercise", intents.lists) if "start" in by_name else set()
    for exercise in catalog.exercises.values():
        if exercise.id not in startable:
            found.append(Problem(f"{exercise.where}: exercise '{exercise.id}' cannot be started by voice: no phrase of the"
                                 " 'start' intent names it", EXERCISE_FIX))
    return found


def require_consistent(intents: IntentSet, catalog: Catalog) -> None:
    """Start-up: the first problem is an error with its fix."""
    for problem in problems(intents, catalog):
        raise ContentError(problem.message, problem.fix)


def _info_problems(info: Intent, lists: Mapping[str, SlotList], catalog: Catalog) -> list[Problem]:
    found = []
    fix = "name an existing topic (assistant/content/info.yaml), or add one there"
    for index, template in enumerate(info.templates):
        fixed = info.slots_of(index).get("topic")
        topics = {str(fixed)} if fixed is not None else _slot_values_in(template, "topic", lists)
        if not topics:
            found.append(Problem(f"{info.where}: the info phrase '{template_text(template)}' names no topic, so it could only"
                                 " answer that there is nothing on it", "add `slots: {topic: NAME}` to its group, or use {topic}"))
        for topic in sorted(topics - set(catalog.info)):
            found.append(Problem(f"{info.where}: the info phrase '{template_text(template)}' leads to topic '{topic}', which has"
                                 " no explanation", fix))
    return found


def _slot_values(intent: Intent, slot: str, lists: Mapping[str, SlotList]) -> set[str]:
    values = set()
    for index, template in enumerate(intent.templates):
        fixed = intent.slots_of(index).get(slot)
        values |= {str(fixed)} if fixed is not None else _slot_values_in(template, slot, lists)
    return values


def _slot_values_in(node: Node, slot: str, lists: Mapping[str, SlotList]) -> set[str]:
    """The values a template can give `slot` (through a {slot} list, also nested in other lists)."""
    if isinstance(node, Slot):
        if node.name not in lists:
            return set()
        found = {str(v.value) for v in lists[node.name].values} if node.name == slot else set()
        for value in lists[node.name].values:
            found |= _slot_values_in(value.spoken, slot, lists)
        return found
    if isinstance(node, Opt):
        return _slot_values_in(node.inner, slot, lists)
    if isinstance(node, (Alt, Seq)):
        children = node.options if isinstance(node, Alt) else node.items
        return set().union(*(_slot_values_in(child, slot, lists) for child in children))
    return set()
