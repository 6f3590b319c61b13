"""Reading intent files (YAML) into an IntentSet, every mistake reported with file:line.

The built-in set lives in intents/ (packaged as assistant/builtin_intents in a wheel). A user's
pack either replaces it or, with `extends: builtin`, adds to it; lists and intent names written in
camelCase, as other tools write them, are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import ContentError
from .intents import ANY, CONTEXTS, Intent, IntentSet, SlotList, SlotValue
from .templates import NAME, Node, first_words, normalize, number_words, parse_template, slots_in
from .yamlload import LDict, load_yaml, where

BUILTIN = "builtin"


def builtin_intent_dir() -> Path:
    """intents/ in a checkout, or the copy packaged as assistant/builtin_intents in a wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "intents", package / "builtin_intents"):
        if any(candidate.glob("*.yaml")):
            return candidate
    raise ContentError("the built-in intents are missing", "reinstall hearth: pip install --force-reinstall .")


def load_intents(paths: Iterable[Path] | None = None, wake_name: str | None = None) -> IntentSet:
    """Load intent files. With no paths, the built-in set. A file that says `extends: builtin` adds
    to (and may override intents of) the built-in set; otherwise the given files replace it."""
    user_files: list[Path] = []
    for path in paths or []:
        path = Path(path)
        user_files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    user_docs = [_load_doc(path) for path in user_files]
    docs = user_docs
    if not user_docs or any(doc.get("extends") == BUILTIN for doc in user_docs):
        docs = [_load_doc(path) for path in sorted(builtin_intent_dir().glob("*.yaml"))] + user_docs
    return _build(docs, wake_name)


def _load_doc(path: Path) -> LDict:
    if not path.exists():
        raise ContentError(f"{path}: no such intent file", "check the path given to --intents")
    doc = load_yaml(path)
    if not isinstance(doc, LDict):
        raise ContentError(f"{path}:1: an intent file is a mapping with 'intents:' (see docs/authoring.md)")
    doc.only({"version", "extends", "wake_name", "wake_required_in", "fillers", "lists", "intents"}, "an intent file")
    return doc


def _build(docs: list[LDict], wake_override: str | None) -> IntentSet:
    lists: dict[str, SlotList] = {}
    raw_intents: dict[str, tuple[LDict, Any]] = {}
    fillers: set[str] = set()
    wake = "hearth"
    wake_contexts: set[str] = set()
    list_where: dict[str, str] = {}
    wake_at = ""  # where the wake name was written, when it came from a file
    for doc in docs:
        if "wake_name" in doc:
            wake, wake_at = str(doc["wake_name"]), f"{doc.where_of('wake_name')}: "
        wake_contexts.update(_contexts(doc.get("wake_required_in", []), doc.where_of("wake_required_in"), "wake_required_in"))
        found = doc.get("fillers", []) or []
        if not isinstance(found, list):
            raise ContentError(f"{doc.where_of('fillers')}: 'fillers' is a list of words")
        for item in found:
            fillers.update(normalize(str(item)))
        found_lists = doc.get("lists") or LDict()
        if not isinstance(found_lists, LDict):
            raise ContentError(f"{doc.where_of('lists')}: 'lists' maps list names to their values")
        for name, spec in found_lists.items():
            parsed_list = _parse_list(name, spec, found_lists.where_of(name))
            if doc.get("extends") == BUILTIN and name in lists:  # a new exercise's spoken name joins the built-in ones
                parsed_list = SlotList(name, lists[name].values + parsed_list.values)
            lists[name] = parsed_list
            list_where[name] = found_lists.where_of(name)
        intents = doc.get("intents")
        if not isinstance(intents, LDict):
            raise ContentError(f"{doc.source}:1: the file needs an 'intents:' mapping")
        for name, spec in intents.items():
            raw_intents[name] = (intents, spec)
    _check_nested_lists(lists, list_where)
    if wake_override:
        wake, wake_at = wake_override, ""
    if not normalize(wake) or " ".join(normalize(wake)) != wake.lower().strip():
        raise ContentError(f"{wake_at}wake name '{wake}' must be plain words", "choose a name of letters only, like 'juniper'")
    built = tuple(_parse_intent(name, parent, spec, lists, frozenset(wake_contexts)) for name, (parent, spec) in raw_intents.items())
    return IntentSet(built, lists, frozenset(fillers), wake.lower().strip(), tuple(sorted({d.source for d in docs})))


def _check_nested_lists(lists: Mapping[str, SlotList], list_where: Mapping[str, str]) -> None:
    """A list's values may use other lists, but only defined ones, and never (through others) itself."""
    for name, slot_list in lists.items():
        for value in slot_list.values:
            for inner in slots_in(value.spoken) - set(lists):
                raise ContentError(f"{list_where[name]}: list '{name}' uses {{{inner}}} but no list '{inner}' is defined")
    for name in lists:
        frontier = [name]
        seen: set[str] = set()
        while frontier:
            current = frontier.pop()
            for value in lists[current].values:
                for inner in slots_in(value.spoken):
                    if inner == name:
                        raise ContentError(f"{list_where[name]}: list '{name}' contains itself (through {{{current}}})")
                    if inner not in seen:
                        seen.add(inner)
                        frontier.append(inner)



def _parse_list(name: str, spec: Any, at: str) -> SlotList:
    if not re.fullmatch(NAME, name):
        raise ContentError(f"{at}: list name '{name}' must be letters, digits and underscores, starting with a letter")
    if not isinstance(spec, LDict):
        raise ContentError(f"{at}: list '{name}' needs 'values:' or 'range:'")
    if "range" in spec:
        bounds = spec["range"]
        if not (isinstance(bounds, LDict) and isinstance(bounds.get("from"), int) and isinstance(bounds.get("to"), int)):
            raise ContentError(f"{spec.where_of('range')}: range needs whole numbers 'from:' and 'to:'")
        low, high = bounds["from"], bounds["to"]
        if not 0 <= low <= high < 100:
            raise ContentError(f"{spec.where_of('range')}: range must lie within 0..99, low to high")
        return SlotList(name, tuple(SlotValue(parse_template(number_words(n)), n) for n in range(low, high + 1)))
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise ContentError(f"{at}: list '{name}' needs a non-empty 'values:' list")
    parsed = []
    for value in values:
        at_value = where(value, at)
        if isinstance(value, LDict):
            if "in" not in value or "out" not in value:
                raise ContentError(f"{at_value}: a list value needs 'in:' (what is said) and 'out:' (the value)")
            parsed.append(SlotValue(parse_template(str(value["in"]), value.where_of("in")), str(value["out"])))
        elif isinstance(value, str):
            parsed.append(SlotValue(parse_template(value, at_value), value))
        else:
            raise ContentError(f"{at_value}: a list value is a phrase or a mapping with in/out")
    return SlotList(name, tuple(parsed))


def _contexts(value: Any, at: str, key: str) -> list[str]:
    if not isinstance(value, list):
        raise ContentError(f"{at}: '{key}' is a list of {', '.join(CONTEXTS + (ANY,))}")
    for context in value:
        if context not in CONTEXTS + (ANY,):
            raise ContentError(f"{where(context, at)}: unknown context '{context}' (use {', '.join(CONTEXTS + (ANY,))})")
    return [str(c) for c in value]


def _parse_intent(name: str, parent: LDict, spec: Any, lists: Mapping[str, SlotList], wake_contexts: frozenset[str]) -> Intent:
    at = parent.where_of(name)
    if not re.fullmatch(NAME, name):
        raise ContentError(f"{at}: intent name '{name}' must be letters, digits and underscores, starting with a letter")
    if not isinstance(spec, LDict):
        raise ContentError(f"{at}: intent '{name}' needs 'contexts:' and 'templates:'")
    spec.only(("contexts", "templates", "help", "wake_required_in"), f"intent '{name}'")
    if "contexts" not in spec:
        raise ContentError(f"{at}: intent '{name}' needs 'contexts:', a list of {', '.join(CONTEXTS + (ANY,))}")
    contexts = _contexts(spec["contexts"], spec.where_of("contexts"), "contexts")
    if not contexts:
        raise ContentError(f"{spec.where_of('contexts')}: intent '{name}' needs at least one context")
    wake_in = wake_contexts | set(_contexts(spec.get("wake_required_in", []), spec.where_of("wake_required_in"), "wake_required_in"))
    templates = spec.get("templates")
    if not isinstance(templates, list) or not templates:
        raise ContentError(f"{at}: intent '{name}' needs a non-empty 'templates:' list")
    parsed: list[Node] = []
    fixed: list[Mapping[str, str | int]] = []
    for template, slots in _template_entries(templates, at):
        node = parse_template(template, where(template, at))
        for slot in slots_in(node):
            if slot not in lists:
                raise ContentError(f"{where(template, at)}: template uses {{{slot}}} but no list '{slot}' is defined")
        parsed.append(node)
        fixed.append(slots)
    help_text = str(spec.get("help") or " ".join(first_words(parsed[0])))
    return Intent(name, frozenset(contexts), tuple(parsed), help_text, at, frozenset(wake_in), tuple(fixed))


def _template_entries(templates: list[Any], at: str) -> Iterator[tuple[str, Mapping[str, str | int]]]:
    """A template is a phrase, or a group `{templates: [...], slots: {name: value}}` whose phrases
    all set those slot values (hassil's intent-level `slots:`)."""
    for entry in templates:
        if isinstance(entry, str):
            yield entry, {}
            continue
        if not isinstance(entry, LDict):
            raise ContentError(f"{where(entry, at)}: a template is a phrase in quotes, got {entry!r}")
        if set(entry) != {"templates", "slots"}:
            raise ContentError(f"{entry.where}: a template group has exactly 'templates:' (phrases) and 'slots:' (fixed values)")
        slots = entry["slots"]
        if not isinstance(slots, LDict) or not slots or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in slots.values()):
            raise ContentError(f"{entry.where_of('slots')}: 'slots' maps slot names to fixed values, like topic: when_to_get_help")
        group = entry["templates"]
        if not isinstance(group, list) or not group or not all(isinstance(t, str) for t in group):
            raise ContentError(f"{entry.where_of('templates')}: 'templates' in a group is a non-empty list of phrases in quotes")
        for template in group:
            yield template, {str(k): v for k, v in slots.items()}
