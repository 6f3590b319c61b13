"""Bad input never crashes: property-based fuzzing of everything that reads what people write.

The YAML loader, the template parser, the exercise loader, the intent loader and the matcher get
arbitrary and almost-right input (hypothesis). Each must give a result or a ContentError that
starts with `file:line:`; any other exception is a bug. Through public functions only, so the
properties hold whatever the internals become.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from assistant.errors import ContentError, HearthError
from assistant.exercises import load_exercise
from assistant.plan import PlanRequest, compile_plan
from assistant.intents import ANY, CONTEXTS, normalize, parse_template
from assistant.intent_yaml import load_intents
from assistant.yamlload import load_yaml, load_yaml_text

FUZZ = settings(max_examples=int(__import__("os").environ.get("HEARTH_FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LOCATED = re.compile(r"^(?P<file>[^\n:]+):(?P<line>\d+): ")


def assert_located(error: HearthError, source: str) -> None:
    """A content error names the file and a line in it."""
    assert isinstance(error, ContentError), f"{type(error).__name__}: {error}"
    found = LOCATED.match(error.message)
    assert found, f"no file:line in {error.message!r}"
    assert found["file"] == source, error.message


# ---------------------------------------------------------------- strategies

YAML_PIECES = [":", ": ", "- ", "-", "[", "]", "{", "}", ",", "&a ", "*a", "!!", "!!int ", "!!float ", "!!binary ",
               "!!timestamp ", "!!python/object ", "? ", "|", ">", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n",
               "\n", "\n  ", "\n    ", "\t", "  ", "yes", "no", "~", "null", ".inf", ".nan", "0x1F", "0o17", "1e400",
               "2001-13-45", "2026-02-30 25:61:00", "12:30:45", "\\", "\x00", "\x85", "\ufeff", "é", "\ud7ff"]
yaml_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(YAML_PIECES), st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6)),
             max_size=40).map("".join),
)

TEMPLATE_PIECES = ["(", ")", "[", "]", "|", "{exercise}", "{minutes}", "{nope}", "{", "}", "{A}", " ", "start", "our",
                   "check", "in", "don't", "'", "Word", "9", "-", "é", "\n", "\t"]
template_text = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TEMPLATE_PIECES), max_size=30).map("".join),
    st.integers(1, 1200).map(lambda depth: "(" * depth + "a" + ")" * depth),
    st.integers(1, 1200).map(lambda depth: "[" * depth + "a" + "]" * depth),
)

words = st.sampled_from("start stop next the our check in juniper minutes five question repeat yes no um please".split())
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=30), words, template_text)


def documents(keys: list[str]) -> st.SearchStrategy[Any]:
    """Nested mappings and lists whose keys are mostly ones the loader knows."""
    key = st.one_of(st.sampled_from(keys), st.text(string.ascii_lowercase + "_", min_size=1, max_size=8))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(key, inner, max_size=6)),
        max_leaves=40,
    )


EXERCISE_WORDS = ["id", "title", "summary", "confirm_stop", "resumable", "resume_say", "pools", "topic_pool", "steps",
                  "order", "items", "sections", "say", "prompt", "turn", "pick", "each_partner", "each_item", "minutes",
                  "minute_left_cue", "adjustable", "pool", "count", "alternate_first", "questions", "rotate", "sequence"]
INTENT_WORDS = ["version", "extends", "wake_name", "wake_required_in", "fillers", "lists", "intents", "contexts", "templates",
                "help", "values", "range", "from", "to", "in", "out", "idle", "prompt", "turn", "any", "builtin", "start",
                "exercise", "minutes"]


@st.composite
def exercise_documents(draw: st.DrawFn) -> Any:
    """Mostly-valid exercises with random damage: deep enough to reach every check of the loader."""
    placeholder = st.sampled_from(["{first}", "{second}", "{partner}", "{listener}", "{item}", "{number}", "{total}",
                                   "{minutes}", "{wake}", "{nope}", "{first!r}", "{first!x}", "{first:d}", "{first:>9}", "{first.x}", "{0}",
                                   "{", "}", "{{", "}}"])
    text = st.lists(st.one_of(words, placeholder), min_size=1, max_size=5).map(" ".join)
    pool = st.fixed_dictionaries({"order": st.sampled_from(["rotate", "sequence", "random"]),
                                  "items": st.lists(st.one_of(text, scalars), min_size=0, max_size=3)})
    step = st.recursive(
        st.one_of(
            st.builds(lambda t: {"say": t}, text),
            st.builds(lambda t: {"prompt": t}, text),
            st.builds(lambda t, m, a: {"turn": {"say": t, "minutes": m, "adjustable": a}}, text,
                      st.one_of(st.floats(0, 70), st.integers(-1, 70), st.text(max_size=3)), st.booleans()),
            st.builds(lambda p: {"pick": p}, st.sampled_from(["questions", "nope", ["questions"]])),
        ),
        lambda inner: st.one_of(
            st.builds(lambda s: {"each_partner": s}, st.lists(inner, max_size=3)),
            st.builds(lambda p, c, s: {"each_item": {"pool": p, "count": c, "steps": s}},
                      st.sampled_from(["questions", "nope", ["questions"], {"a": 1}]),
                      st.one_of(st.just("all"), st.integers(-1, 5), st.booleans()), st.lists(inner, max_size=3)),
        ),
        max_leaves=8,
    )
    doc = {
        "id": draw(st.one_of(st.just("fuzzed"), st.text(max_size=8))),
        "title": draw(text),
        "summary": draw(text),
        "resumable": draw(st.booleans()),
        "resume_say": draw(text),
        "pools": {"questions": draw(pool)},
        "topic_pool": draw(st.sampled_from(["questions", "nope"])),
        "steps": draw(st.lists(step, min_size=0, max_size=4)),
    }
    for key in draw(st.lists(st.sampled_from(sorted(doc)), max_size=2)):
        doc.pop(key, None)
    if draw(st.booleans()):
        doc[draw(st.sampled_from(EXERCISE_WORDS))] = draw(documents(EXERCISE_WORDS))
    return doc


@st.composite
def intent_documents(draw: st.DrawFn) -> Any:
    """Intent files: slot lists (values, ranges, nested and self-referring slots) and templates."""
    contexts = st.lists(st.sampled_from(list(CONTEXTS) + [ANY, "nowhere", 3]), max_size=3)
    nested = st.sampled_from(["x {exercise}", "{minutes} y", "z {nope}", "w", "(a | {exercise}) [b]"])
    values = st.lists(st.one_of(nested, template_text, st.fixed_dictionaries({"in": st.one_of(nested, template_text), "out": scalars}),
                                scalars), max_size=3)
    slot_list = st.one_of(
        st.fixed_dictionaries({"values": values}),
        st.fixed_dictionaries({"range": st.fixed_dictionaries({"from": st.integers(-2, 120), "to": st.integers(-2, 120)})}),
        scalars,
    )
    intent = st.fixed_dictionaries(
        {"contexts": contexts, "templates": st.lists(st.one_of(nested, template_text, scalars), max_size=3)},
        optional={"help": scalars, "wake_required_in": contexts},
    )
    doc: dict[str, Any] = {
        "intents": draw(st.dictionaries(st.sampled_from(["start", "next", "stop", "Bad-name", "x"]), intent, max_size=3)),
        "lists": draw(st.dictionaries(st.sampled_from(["exercise", "minutes", "nope"]), slot_list, max_size=3)),
    }
    doc.update(draw(st.fixed_dictionaries({}, optional={
        "extends": st.sampled_from(["builtin", "other", 1]),
        "wake_name": st.one_of(words, scalars),
        "wake_required_in": contexts,
        "fillers": st.one_of(st.lists(words, max_size=3), scalars),
    })))
    if draw(st.booleans()):
        doc[draw(st.sampled_from(INTENT_WORDS))] = draw(documents(INTENT_WORDS))
    return doc


def write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the YAML loader


@FUZZ
@given(yaml_text)
def test_yaml_text_gives_values_or_a_located_error(text: str) -> None:
    try:
        load_yaml_text(text, "fuzz.yaml")
    except HearthError as error:
        assert_located(error, "fuzz.yaml")


@FUZZ
@given(st.binary(max_size=200))
def test_yaml_files_of_any_bytes_give_values_or_a_located_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    try:
        load_yaml(path)
    except HearthError as error:
        assert_located(error, str(path))


def test_a_yaml_file_that_is_a_folder_or_missing_is_a_content_error_naming_it(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing.yaml"):
        with pytest.raises(ContentError) as error:
            load_yaml(path)
        assert error.value.message.startswith(f"{path}: cannot be read")


def test_aliases_cannot_blow_up(tmp_path: Path) -> None:
    names = string.ascii_lowercase[:10]  # a: nine x; b: nine a; ... j: nine i = 9**10 values
    laughs = "a: &a [" + ", ".join(["x"] * 9) + "]\n" + "".join(
        f"{name}: &{name} [" + ", ".join([f"*{before}"] * 9) + "]\n" for before, name in zip(names, names[1:])
    )
    with pytest.raises(ContentError, match=r"^laughs.yaml:\d+: .*alias"):
        load_yaml_text(laughs, "laughs.yaml")
    with pytest.raises(ContentError, match=r"^loop.yaml:\d+: "):
        load_yaml_text("&a [*a]", "loop.yaml")


# ---------------------------------------------------------------- the template parser


@FUZZ
@given(template_text)
def test_templates_parse_or_give_a_located_error(text: str) -> None:
    try:
        parse_template(text, "intents.yaml:7")
    except HearthError as error:
        assert isinstance(error, ContentError)
        assert error.message.startswith("intents.yaml:7: "), error.message


# ---------------------------------------------------------------- the exercise loader


@FUZZ
@given(st.one_of(exercise_documents(), documents(EXERCISE_WORDS), yaml_text))
def test_exercise_files_load_or_give_a_located_error(tmp_path: Path, doc: Any) -> None:
    path = write(tmp_path, "fuzzed.yaml", doc)
    try:
        exercise = load_exercise(path)
    except HearthError as error:
        assert_located(error, str(path))
        return
    # what loads must run: unroll it as an evening would, from the start and from a saved place
    plan, _ = compile_plan(PlanRequest(exercise, ("Alex", "Sam"), {}, 0, None, "juniper"))
    assert all(step.text for step in plan)
    if exercise.resumable and exercise.sequence_pool is not None:
        last = len(exercise.sequence_pool.items) - 1
        compile_plan(PlanRequest(exercise, ("Sam", "Alex"), {}, last, 5, "juniper"))


# ---------------------------------------------------------------- the intent loader and the matcher


@FUZZ
@given(st.one_of(intent_documents(), documents(INTENT_WORDS), yaml_text), st.text(max_size=60), st.sampled_from(CONTEXTS + (ANY,)))
def test_intent_files_load_or_give_a_located_error(tmp_path: Path, doc: Any, heard: str, context: str) -> None:
    path = write(tmp_path, "fuzzed_intents.yaml", doc)
    try:
        intents = load_intents([path])
    except HearthError as error:
        assert_located(error, str(path))
        return
    graph = intents.grammar(context).graph  # compiling must work for whatever loads
    for phrase in graph.sample(20):
        assert intents.is_phrase(phrase, context)
        intents.match(phrase, context)
    intents.match(heard, context, enforce_wake=True)
    intents.is_phrase(heard, context)


def _said(phrases: list[str]) -> st.SearchStrategy[str]:
    """Real command phrases, then damaged the way speech and typing damage them."""
    junk = st.one_of(words, st.text(max_size=6), st.sampled_from(["9", "36", "1" * 5000, "٣", "-", "'", "’", "\x00", "İ"]))

    @st.composite
    def damaged(draw: st.DrawFn) -> str:
        tokens = draw(st.sampled_from(phrases)).split()
        for _ in range(draw(st.integers(0, 4))):
            action = draw(st.sampled_from(["insert", "delete", "swap"]))
            at = draw(st.integers(0, len(tokens)))
            if action == "insert":
                tokens.insert(at, draw(junk))
            elif tokens and at < len(tokens):
                if action == "delete":
                    del tokens[at]
                else:
                    tokens[at] = draw(junk)
        return draw(st.sampled_from([" ", "  ", ", ", "-"])).join(tokens)

    return st.one_of(damaged(), st.text(max_size=120), st.just("um " * 200 + "next question"))


BUILTIN = load_intents()
SAID = _said([phrase for context in CONTEXTS for phrase in BUILTIN.grammar(context).graph.sample(3000)])


@FUZZ
@given(SAID, st.sampled_from(CONTEXTS + (ANY,)), st.booleans())
def test_the_matcher_answers_anything_with_a_live_intent_or_none(text: str, context: str, enforce_wake: bool) -> None:
    match = BUILTIN.match(text, context, enforce_wake=enforce_wake)
    if match is not None:
        intent = next(i for i in BUILTIN.intents if i.name == match.intent)
        assert context == ANY or intent.live_in(context)
        assert 0 < match.score <= 1
        assume(normalize(text))


# ---------------------------------------------------------------- what the fuzzing found, kept as plain cases


@pytest.mark.parametrize(
    "text",
    ["\x1f", "!!int", "!!int abc", "when: 2001-13-45", "a: !!float x", "[" * 2000 + "]" * 2000, "{a: " * 600 + "}" * 600,
     "&a [*a]", "? [1]\n: 2"],
)
def test_yaml_that_once_crashed(text: str) -> None:
    with pytest.raises(ContentError) as error:
        load_yaml_text(text, "found.yaml")
    assert_located(error.value, "found.yaml")


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: ok\ntitle: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ContentError, match=r"latin1.yaml:2: not UTF-8 text"):
        load_yaml(path)


def test_deeply_nested_templates_are_refused() -> None:
    with pytest.raises(ContentError, match=r"^f.yaml:1: .*nests brackets"):
        parse_template("(" * 1200 + "a" + ")" * 1200, "f.yaml:1")


INTENT_CASES = {
    "fillers that are not a list": {"extends": "builtin", "fillers": True, "intents": {}},
    "lists that are not a mapping": {"lists": True, "intents": {"go": {"contexts": ["idle"], "templates": ["go"]}}},
    "a list that uses an undefined list": {"lists": {"a": {"values": ["x {b}"]}}, "intents": {"go": {"contexts": ["idle"], "templates": ["go {a}"]}}},
    "a list that contains itself": {"lists": {"a": {"values": ["x {a}"]}}, "intents": {"go": {"contexts": ["idle"], "templates": ["go {a}"]}}},
    "lists that contain each other": {"lists": {"a": {"values": ["x {b}"]}, "b": {"values": ["y {a}"]}},
                                      "intents": {"go": {"contexts": ["idle"], "templates": ["go {a}"]}}},
    "a wake name that is a list": {"wake_name": ["a"], "intents": {"go": {"contexts": ["idle"], "templates": ["go"]}}},
}


def test_a_template_of_a_million_phrases_compiles_to_a_small_graph(tmp_path: Path) -> None:
    """Once it crashed the phrase expansion; now templates compile to a graph and never expand."""
    path = write(tmp_path, "found.yaml", {"intents": {"go": {"contexts": ["idle"], "templates": [" ".join(["(a | b | c)"] * 13)]}}})
    graph = load_intents([path]).grammar("idle").graph
    assert graph.count() == 2 * 3**13  # bare and addressed
    assert graph.size[0] < 40


@pytest.mark.parametrize("case", sorted(INTENT_CASES))
def test_intent_files_that_once_crashed(tmp_path: Path, case: str) -> None:
    path = write(tmp_path, "found.yaml", INTENT_CASES[case])
    with pytest.raises(ContentError) as error:
        load_intents([path])
    assert_located(error.value, str(path))


@pytest.mark.parametrize("text", ["{first!x}", "{first:d}", "{first:{second}}", "{first!r}"])
def test_placeholders_that_only_failed_when_spoken(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "found.yaml", {"id": "x", "title": "t", "summary": "s", "steps": [{"say": text}]})
    with pytest.raises(ContentError, match=r"a placeholder is a plain name in braces") as error:
        load_exercise(path)
    assert_located(error.value, str(path))


def test_an_each_item_naming_a_list_of_pools(tmp_path: Path) -> None:
    doc = {"id": "x", "title": "t", "summary": "s", "pools": {"q": {"items": ["a"]}},
           "steps": [{"each_item": {"pool": ["q"], "steps": [{"say": "hi"}]}}]}
    path = write(tmp_path, "found.yaml", doc)
    with pytest.raises(ContentError, match="no pool named"):
        load_exercise(path)


def test_a_number_too_long_to_convert_is_just_not_a_word() -> None:
    assert BUILTIN.match("1" * 5000 + " a bit more time", "idle") is None
    assert normalize("007 and 36") == ["seven", "and", "thirty", "six"]
