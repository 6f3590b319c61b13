"""Templates compile to a minimal word graph, and a context with 10^8 sentences stays small.

The coffee-order grammar from ../shared/speech/coffee_orders (a Picovoice Rhino context with
intent and slot names in camelCase) is converted into a hearth pack by scripts/rhino_context.py:
it is the test case for a huge context.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from assistant.errors import ContentError
from assistant.grammar import GraphBuilder, WordGraph, compile_phrases
from assistant.intent_yaml import load_intents
from assistant.templates import parse_template

REPO = Path(__file__).resolve().parents[1]
COFFEE = REPO.parent / "shared" / "speech" / "coffee_orders" / "context.yaml"


@pytest.fixture(scope="module")
def coffee_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not COFFEE.exists():
        pytest.skip(f"the coffee-order grammar is not at {COFFEE}")
    sys.path.insert(0, str(REPO / "scripts"))
    from rhino_context import convert_file

    path = tmp_path_factory.mktemp("pack") / "coffee.yaml"
    path.write_text(convert_file(COFFEE), encoding="utf-8")
    return path


def _signatures_are_unique(graph: WordGraph) -> bool:
    """Minimal: no two states have the same finality and the same arcs."""
    seen = Counter((state in graph.finals, tuple(sorted(arcs.items()))) for state, arcs in enumerate(graph.arcs))
    return max(seen.values()) == 1


def test_a_context_with_hundreds_of_millions_of_sentences_is_a_small_graph(coffee_pack: Path) -> None:
    intents = load_intents([coffee_pack])
    graph = intents.grammar("any").graph
    assert graph.count() > 10**8
    states, arcs = graph.size
    assert states < 200 and arcs < 1000
    assert len(intents.grammar("any").jsgf) < 20_000
    assert _signatures_are_unique(graph)


def test_camel_case_names_from_other_tools_are_kept(coffee_pack: Path) -> None:
    intents = load_intents([coffee_pack])
    assert intents.names() == {"orderDrink"}
    assert {"coffeeDrink", "numberOfShots", "milkAmount", "sugarAmount", "size", "roast"} <= set(intents.lists)
    match = intents.match("can i get a large dark roast triple shot iced mocha with lots of brown sugar", "any")
    assert match is not None and match.intent == "orderDrink"
    assert dict(match.slots) == {"size": "large", "roast": "dark roast", "numberOfShots": "triple shot",
                                 "coffeeDrink": "iced mocha", "sugarAmount": "lots of brown sugar"}


def test_sampled_phrases_are_phrases_the_matcher_understands(coffee_pack: Path) -> None:
    intents = load_intents([coffee_pack])
    graph = intents.grammar("any").graph
    sample = graph.sample(200, seed=3)
    assert len(set(sample)) == 200
    for phrase in sample:
        assert graph.accepts(phrase.split())
        assert intents.is_phrase(phrase, "any")
        match = intents.match(phrase, "any")
        assert match is not None and match.intent == "orderDrink", phrase


def test_phrases_are_listed_only_when_few() -> None:
    graph = compile_phrases(["next question", "next one", "go back"])
    assert graph.phrases(10) == ["go back", "next one", "next question"]
    assert graph.phrases(2) is None
    assert graph.count() == 3 and graph.longest == 2
    assert graph.vocabulary == {"next", "question", "one", "go", "back"}


def test_accepts_only_whole_phrases() -> None:
    graph = compile_phrases(["next question", "next one"])
    assert graph.accepts(["next", "question"])
    assert not graph.accepts(["next"])
    assert not graph.accepts(["next", "question", "please"])
    assert not graph.accepts([])


def test_parse_leaves_out_as_few_fillers_as_possible() -> None:
    graph = compile_phrases(["next question", "next question please", "go back"])
    fillers = frozenset({"um", "please", "okay"})
    assert graph.parse("um next question please".split(), fillers) == ("next", "question", "please")
    assert graph.parse("okay go back please".split(), fillers) == ("go", "back")
    assert graph.parse("go back home".split(), fillers) is None
    assert graph.parse("um um".split(), fillers) is None


def test_optionals_alternatives_and_slot_lists_compile_to_their_language() -> None:
    from assistant.intents import SlotList, SlotValue

    lists = {"n": SlotList("n", (SlotValue(parse_template("two"), 2), SlotValue(parse_template("three"), 3)))}
    builder = GraphBuilder(lists)
    builder.arc(builder.template(parse_template("give us [a | some] {n} (more | extra) minutes"), builder.start), None, builder.final)
    graph = builder.finish()
    expected = {f"give us {a}{n} {m} minutes" for a in ("", "a ", "some ") for n in ("two", "three") for m in ("more", "extra")}
    assert set(graph.phrases(100) or []) == expected
    assert _signatures_are_unique(graph)


def test_every_context_of_the_builtin_intents_is_minimal_and_deterministic() -> None:
    intents = load_intents()
    for context in ("idle", "prompt", "turn", "any"):
        graph = intents.grammar(context).graph
        assert _signatures_are_unique(graph)
        assert all(isinstance(target, int) for arcs in graph.arcs for target in arcs.values())
        assert intents.grammar(context) is intents.grammar(context)  # compiled once


def test_lists_that_use_each_other_in_a_circle_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(
        "lists:\n  a:\n    values: ['x {b}']\n  b:\n    values: ['y {a}']\n"
        "intents:\n  go:\n    contexts: [idle]\n    templates: ['go {a}']\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="contains itself"):
        load_intents([path])
