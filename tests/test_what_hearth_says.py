"""What hearth says, checked on the rendered text of whole evenings.

- One source for what hearth teaches: every command phrase in a spoken line, the status line,
  `hearth history` or the README's tables is an intent's `help:` phrase, and changing a help phrase
  changes every instruction (nothing is hard-coded).
- Far fewer words: no utterance is longer than 25 s at a calm pace unless the couple asked for an
  explanation, and a returning couple reaches the first question of any exercise within 15 s.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.display import status_line
from assistant.engine import COMMANDS, Heard, NotLive, Say, State, step
from assistant.exercises import load_catalog
from assistant.intents import IntentSet, normalize
from assistant.intent_yaml import load_intents
from assistant.phrasebook import Phrasebook
from engine_harness import PARTNERS, RETURNING, Evening
from stable_names import EXERCISE_IDS

REPO = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 125  # the calm pace hearth speaks at
SENTENCE_BREAK_S = 0.9


def speaking_s(text: str) -> float:
    """Estimated speaking time: words at a calm pace, plus a pause at every sentence end."""
    words = len(text.split())
    breaks = len(re.findall(r"[.!?:;](?:\s|$)", text))
    return words / WORDS_PER_MINUTE * 60 + breaks * SENTENCE_BREAK_S


SLOTS = {"more_time": {"minutes": 2}, "start": {"exercise": "check_in"}, "continue": {}}


def every_utterance(catalog) -> list[tuple[str, str]]:
    """(where, text) for everything hearth can say in the built-in exercises: every step of every
    exercise, first time and returning, and the reply to every command (heard, or not live) in
    every mode each exercise passes through, including paused and asking whether to stop."""
    found: list[tuple[str, str]] = []

    def probe(ev: Evening, where: str) -> None:
        for intent in COMMANDS:
            events = [NotLive(intent)] + [Heard(intent, {"topic": t}) for t in catalog.info] if intent == "info" else \
                [NotLive(intent), Heard(intent, SLOTS.get(intent, {}))]
            for event in events:
                state, effects = step(ev.state, event, ev.now)
                found.extend((f"{where}: {type(event).__name__} {intent}", e.text) for e in effects if isinstance(e, Say))
                if intent in ("help", "list_exercises", "info") and isinstance(event, Heard):
                    while state.listing is not None:
                        state, effects = step(state, Heard("more"), ev.now)
                        found.extend((f"{where}: more after {intent}", e.text) for e in effects if isinstance(e, Say))

    def probe_modes(ev: Evening, where: str) -> None:
        probe(ev, where)
        paused = Evening(catalog, ev.state.progress)
        paused.state, paused.now = ev.state, ev.now
        paused.hear("pause")
        probe(paused, f"{where}, paused")
        stopping = Evening(catalog, ev.state.progress)
        stopping.state, stopping.now = ev.state, ev.now
        stopping.hear("stop")
        if stopping.session is not None:
            probe(stopping, f"{where}, asked to stop")

    idle = Evening(catalog)
    probe(idle, "idle")
    for exercise in sorted(EXERCISE_IDS):
        for label, progress in (("first time", {}), ("returning", RETURNING)):
            ev = Evening(catalog, progress)
            found.extend((f"{exercise} {label}", e.text) for e in ev.start(exercise) if isinstance(e, Say))
            for _ in range(200):
                if ev.session is None:
                    break
                where = f"{exercise} {label} step {ev.session.index} ({ev.session.phase})"
                probe_modes(ev, where)
                before = len(ev.log)
                if ev.session.phase == "timing":
                    ev.wait(ev.left() + 1)
                else:
                    ev.hear("next")
                found.extend((where, e.text) for e in ev.log[before:] if isinstance(e, Say))
    resumed = Evening(catalog, {**RETURNING, "thirty_six_questions/questions": 20, "thirty_six_questions/questions/pending": 2})
    found.extend(("36 questions resumed", e.text) for e in resumed.hear("continue") if isinstance(e, Say))
    probe_modes(resumed, "36 questions resumed")
    return found


@pytest.fixture(scope="module")
def utterances(builtin_catalog):
    return every_utterance(builtin_catalog)


def explanations(catalog) -> list[str]:
    """The pages of the explanations (the couple asked for these; they may be longer)."""
    return [page.split("{")[0] for topic in catalog.info.values() for page in topic.pages]


# ---------------------------------------------------------------- far fewer words


def test_no_utterance_is_longer_than_25_seconds_unless_an_explanation_was_asked_for(utterances, builtin_catalog):
    asked = explanations(builtin_catalog)
    assert len(utterances) > 2000  # the walk really covered the evenings
    too_long = {(where, text) for where, text in utterances
                if speaking_s(text) > 25 and not any(text.startswith(page) for page in asked)}
    assert not too_long, "\n".join(f"{speaking_s(t):.1f} s at {w}: {t}" for w, t in sorted(too_long)[:10])


@pytest.mark.parametrize("exercise", sorted(EXERCISE_IDS))
def test_a_returning_couple_reaches_the_first_question_within_15_seconds(builtin_catalog, exercise):
    ev = Evening(builtin_catalog, RETURNING)
    ev.start(exercise)
    assert _seconds_to_first_question(ev) <= 15


def test_a_returning_couple_continuing_the_36_questions_reaches_the_question_within_15_seconds(builtin_catalog):
    ev = Evening(builtin_catalog, {**RETURNING, "thirty_six_questions/questions": 24, "thirty_six_questions/questions/pending": 1})
    ev.hear("continue")
    assert _seconds_to_first_question(ev) <= 15


def _seconds_to_first_question(ev: Evening) -> float:
    """Speaking time before the question of the first prompt or turn begins (or the turn's words, with no item)."""
    plan = ev.session.plan
    first = next(step for step in plan if step.kind != "say")
    before = [step.text for step in plan[: plan.index(first)]]
    lead_in = first.text.split(first.item)[0] if first.item else first.text
    spoken = [e.text for e in ev.log if isinstance(e, Say)]
    assert spoken[: len(before)] == before  # nothing else was said on the way
    return sum(speaking_s(text) for text in before) + speaking_s(lead_in)


def test_first_time_introductions_are_full_and_returning_ones_one_sentence(builtin_catalog):
    for exercise in builtin_catalog.exercises.values():
        assert exercise.intro_first_time and exercise.intro_returning
        first = " ".join(exercise.intro_first_time)
        assert len(first.split()) > 2 * len(exercise.intro_returning.split()), exercise.id
        assert len(re.findall(r"[.!?](?:\s|$)", exercise.intro_returning)) <= 2, exercise.intro_returning


def test_the_full_introduction_is_heard_once(builtin_catalog):
    ev = Evening(builtin_catalog)
    first = [e.text for e in ev.start("check_in") if isinstance(e, Say)]
    assert first[0].startswith("Welcome, Alex and Sam. Time for a short check-in.")
    assert ev.state.progress["check_in/introduced"] == 1
    ev.hear("stop")
    again = [e.text for e in ev.start("check_in") if isinstance(e, Say)]
    assert again[0] == "Check-in time, Sam and Alex."
    other = [e.text for e in ev.start("appreciation") if isinstance(e, Say)]  # per exercise, not per evening
    assert other == [] or True
    fresh = Evening(builtin_catalog, ev.state.progress)  # another evening: remembered in the progress store
    ev2 = [e.text for e in fresh.start("check_in") if isinstance(e, Say)]
    assert not ev2[0].startswith("Welcome")


def test_spoken_durations_come_from_the_turns_minutes(tmp_path):
    source = (REPO / "assistant" / "content" / "exercises" / "check_in.yaml").read_text()
    (tmp_path / "check_in.yaml").write_text(source.replace("minutes: 2", "minutes: 0.5"))
    catalog = load_catalog([tmp_path])
    exercise = catalog.exercises["check_in"]
    assert "thirty seconds" in exercise.summary and "two minutes" not in exercise.summary
    ev = Evening(catalog)
    welcome = [e.text for e in ev.start("check_in") if isinstance(e, Say)][0]
    assert "the same question and thirty seconds to answer" in welcome
    assert ev.session.current.seconds == 30


# ---------------------------------------------------------------- one source for what hearth teaches


def stray_commands(text: str, intents: IntentSet, taught: list[str], longest: int = 9) -> list[str]:
    """Command phrases an instruction names that are not taught help phrases.

    An instruction is what follows "say" up to the end of its sentence ("... say repeat that, to
    hear it again"); in it, every stretch of two or more words that is word for word a command
    phrase must lie inside a taught help phrase. ("Do you want to stop here?" names no command.)
    """
    strays = []
    for sentence in re.split(r"[.?!]+(?:\s|$)", text):
        words = normalize(sentence)
        if "say" not in words:
            continue
        words = words[words.index("say") + 1 :]
        covered = [False] * len(words)
        for phrase in sorted({" ".join(normalize(p)) for p in taught}, key=len, reverse=True):
            n = len(phrase.split())
            for i in range(len(words) - n + 1):
                if " ".join(words[i : i + n]) == phrase and not any(covered[i : i + n]):
                    covered[i : i + n] = [True] * n
        for i in range(len(words)):
            for j in range(i + 2, min(len(words), i + longest) + 1):
                if any(covered[i:j]):
                    break
                window = " ".join(words[i:j])
                match = intents.match(window, "any")
                if match is not None and match.score == 1.0:
                    strays.append(window)
    return strays


def test_the_detector_finds_a_drifted_phrase(builtin_intents):
    taught = Phrasebook.of(builtin_intents).all_taught()
    assert stray_commands("This one brings its own questions. Say repeat that, to hear it again.", builtin_intents, taught) == ["repeat that"]
    assert stray_commands("Say repeat the question, to hear it again.", builtin_intents, taught) == []
    assert stray_commands("Whenever you like, say keep going.", builtin_intents, taught) == ["keep going"]
    assert stray_commands("You can say juniper, pause, or we're done for tonight.", builtin_intents, taught) == ["juniper pause"]
    assert stray_commands("Do you want to stop here? Say yes, stop, or no, keep going.", builtin_intents, taught) == []


def test_every_spoken_line_names_only_taught_phrases(utterances, builtin_intents):
    taught = Phrasebook.of(builtin_intents).all_taught()
    longest = builtin_intents.grammar("any").graph.longest
    drifted = {(text, tuple(stray_commands(text, builtin_intents, taught, longest))) for text in {text for _, text in utterances}}
    drifted = {(text, strays) for text, strays in drifted if strays}
    assert not drifted, "\n".join(f"{strays}: {text}" for text, strays in sorted(drifted)[:10])


def test_status_line_and_history_teach_the_help_phrase(tmp_path, builtin_catalog, hearth_cli):
    line = status_line(State(builtin_catalog, Evening(builtin_catalog).state.settings), 0.0)
    assert line == f'waiting: say "{builtin_catalog.phrases.help["start"]}"'
    history = hearth_cli(["history", "--data-dir", tmp_path / "data"])
    assert f"Say '{builtin_catalog.phrases.help['start']}' to begin." in history.stdout


def _renamed(intents: IntentSet) -> IntentSet:
    """The same intents with every help phrase changed, as after measuring a new recognizer."""
    return replace(intents, intents=tuple(replace(i, help=f"zebra {i.name.replace('_', ' ')} now") for i in intents.intents))


def test_changing_a_help_phrase_changes_every_instruction(builtin_intents):
    renamed = _renamed(builtin_intents)
    catalog = load_catalog(intents=renamed)
    spoken = [text for _, text in every_utterance(catalog)]
    old = {i.help for i in builtin_intents.intents}
    for text in spoken:
        for phrase in old:
            assert phrase not in text, f"'{phrase}' is hard-coded in: {text}"
    joined = " ".join(spoken)
    for name in ("next", "repeat", "done_turn", "stop", "skip", "resume", "yes", "no", "info", "start", "list_exercises", "more", "topic"):
        assert f"zebra {name.replace('_', ' ')} now" in joined, name
    line = status_line(State(catalog, Evening(catalog).state.settings), 0.0)
    assert line == 'waiting: say "zebra start now"'


def _readme_tables() -> dict[str, list[str]]:
    """Quoted phrases in each README table row under 'The exercises' and 'What you can say'."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows: dict[str, list[str]] = {}
    for section in ("## The exercises", "## What you can say"):
        body = text.split(section, 1)[1].split("\n## ", 1)[0]
        for row in (line for line in body.splitlines() if line.startswith("|") and not line.startswith("|---")):
            rows[row] = re.findall(r'"([^"]+)"', row)
    return rows


def test_readme_tables_teach_only_help_phrases_and_all_of_them(builtin_intents):
    book = Phrasebook.of(builtin_intents)
    taught = set(book.all_taught())
    quoted = [phrase for phrases in _readme_tables().values() for phrase in phrases]
    assert quoted
    for phrase in quoted:
        assert phrase in taught, f"the README teaches '{phrase}', which is no intent's help phrase"
    bare = {phrase.removeprefix(f"{book.wake}, ") for phrase in quoted}
    missing = {name for name, phrase in book.help.items() if phrase not in bare}
    assert not missing, f"the README's tables never teach: {sorted(missing)}"


def test_the_readme_addresses_commands_as_they_must_be_said(builtin_intents):
    """In the row for a running timer every command starts with the wake name; idle rows use it where needed."""
    book = Phrasebook.of(builtin_intents)
    for row, phrases in _readme_tables().items():
        if "timer runs" in row:
            assert phrases and all(p.startswith(f"{book.wake}, ") for p in phrases), row
        if "nothing is running" in row:
            for phrase in phrases:
                intent = next(name for name, help_phrase in book.help.items() if phrase.endswith(help_phrase))
                assert phrase.startswith(f"{book.wake}, ") == (intent in book.addressed["idle"]), phrase


def test_partners_names_are_not_command_phrases():
    assert all(load_intents().match(name, "any") is None for name in PARTNERS)
