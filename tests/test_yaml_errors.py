"""Content files are written by people: every mistake must come back as `file:LINE: what is wrong`."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ContentError
from assistant.exercises import check_paths, load_catalog, load_exercise
from assistant.intent_yaml import load_intents
from assistant.yamlload import LDict, LStr, load_yaml_text

# ---------------------------------------------------------------- yes and no stay words


def test_bare_yes_no_on_off_stay_strings():
    doc = load_yaml_text("a: yes\nb: no\nc: on\nd: off\ne: Yes\nf: NO\ng: true\nh: false\ni: [yes, no]\n", "t.yaml")
    assert doc["a"] == "yes" and doc["b"] == "no" and doc["c"] == "on" and doc["d"] == "off"
    assert doc["e"] == "Yes" and doc["f"] == "NO"
    assert all(isinstance(doc[key], str) for key in "abcdef")
    assert doc["g"] is True and doc["h"] is False
    assert doc["i"] == ["yes", "no"]


def test_loaded_values_know_their_line():
    doc = load_yaml_text("first: one\nnested:\n  second: two\n  items:\n    - three\n", "t.yaml")
    assert isinstance(doc, LDict) and isinstance(doc["first"], LStr)
    assert doc["first"].where == "t.yaml:1"
    assert doc["nested"].where_of("second") == "t.yaml:3"
    assert doc["nested"]["items"][0].where == "t.yaml:5"


def test_duplicate_key_names_its_line():
    with pytest.raises(ContentError, match=r"^t\.yaml:3: 'a' appears twice"):
        load_yaml_text("a: 1\nb: 2\na: 3\n", "t.yaml")


def test_empty_file_is_an_error():
    with pytest.raises(ContentError, match=r"^t\.yaml:1: the file is empty"):
        load_yaml_text("", "t.yaml")


# ---------------------------------------------------------------- intents

INTENTS = """\
version: 1
wake_name: hearth
lists:
  exercise:
    values:
      - in: "[our] check in"
        out: check_in
  minutes:
    range: {from: 1, to: 20}
intents:
  start:
    contexts: [idle]
    templates:
      - "(start | begin) {exercise}"
      - "give us {minutes} minutes"
  answer:
    contexts: [prompt]
    templates:
      - yes
      - no
"""


def test_valid_intent_file_keeps_yes_and_no_as_words(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(INTENTS)
    intents = load_intents([path])
    assert intents.names() == {"start", "answer"}  # replaces the built-in set: no 'extends: builtin'
    assert intents.match("yes", "prompt").intent == "answer"
    assert intents.match("no", "prompt").intent == "answer"
    assert intents.match("start our check in", "idle").slots == {"exercise": "check_in"}


def test_extends_builtin_adds_to_the_built_in_set(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text('extends: builtin\nintents:\n  cheer:\n    contexts: [prompt]\n    templates: ["well done us"]\n')
    intents = load_intents([path])
    assert "cheer" in intents.names() and "next" in intents.names()
    assert intents.match("well done us", "prompt").intent == "cheer"


@pytest.mark.parametrize(
    ("case", "old", "new", "line", "message"),
    [
        ("unknown key", "version: 1\n", "version: 1\ncolour: blue\n", 2, "unknown key 'colour'"),
        ("unknown intent key", "    contexts: [prompt]\n", "    contexts: [prompt]\n    color: red\n", 18, "unknown key 'color' in intent 'answer'"),
        ("unclosed (", '"(start | begin) {exercise}"', '"(start | begin {exercise}"', 14, "opens '(' but never closes it"),
        ("unclosed [", '"(start | begin) {exercise}"', '"start [our {exercise}"', 14, "opens '[' but never closes it"),
        ("stray ]", '"give us {minutes} minutes"', '"give us ] minutes"', 15, "unmatched ']'"),
        ("undefined slot list", '"give us {minutes} minutes"', '"give us {seconds} seconds"', 15, "no list 'seconds' is defined"),
        ("unknown context", "contexts: [prompt]", "contexts: [prompt, dinner]", 17, "unknown context 'dinner'"),
        ("unknown context in a block list", "contexts: [prompt]", "contexts:\n      - prompt\n      - dinner", 19, "unknown context 'dinner'"),
        ("range past 99", "range: {from: 1, to: 20}", "range: {from: 5, to: 200}", 9, "range must lie within 0..99"),
        ("range backwards", "range: {from: 1, to: 20}", "range: {from: 9, to: 3}", 9, "range must lie within 0..99, low to high"),
        ("range of words", "range: {from: 1, to: 20}", "range: {from: one, to: 3}", 9, "range needs whole numbers"),
        ("upper case word", '"give us {minutes} minutes"', '"Give us {minutes} minutes"', 15, "lower case"),
        ("syntax error", "  answer:\n", "  answer:\n\t", 17, "not valid YAML"),
        ("group without slots", "      - yes\n", "      - templates: [yes]\n", 19, "a template group has exactly 'templates:'"),
        ("group slots not values", "      - yes\n", "      - templates: [yes]\n        slots: {answer: true}\n", 20,
         "'slots' maps slot names to fixed values"),
        ("group templates not phrases", "      - yes\n", "      - templates: [1]\n        slots: {answer: yes}\n", 19,
         "'templates' in a group is a non-empty list of phrases"),
    ],
)
def test_intent_file_errors_name_file_and_line(tmp_path, case, old, new, line, message):
    assert old in INTENTS
    path = tmp_path / "intents.yaml"
    path.write_text(INTENTS.replace(old, new, 1))
    with pytest.raises(ContentError) as error:
        load_intents([path])
    text = error.value.message
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text


# ---------------------------------------------------------------- exercises

EXERCISE = """\
id: tiny
title: Tiny
summary: A tiny exercise.
pools:
  stems:
    items:
      - one
      - two
steps:
  - say: "Hello {first} and {second}."
  - pick: stems
  - each_partner:
      - prompt: "{partner}, {item}"
"""


def test_valid_exercise_keeps_yes_as_a_pool_item(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(EXERCISE.replace("      - two\n", "      - two\n      - yes\n      - no\n"))
    exercise = load_exercise(path)
    assert exercise.id == "tiny"
    assert [item.text for item in exercise.pools["stems"].items] == ["one", "two", "yes", "no"]


@pytest.mark.parametrize(
    ("case", "old", "new", "line", "message"),
    [
        ("missing id", "id: tiny\n", "", 1, "the exercise needs 'id:'"),
        ("unknown key", "title: Tiny\n", "title: Tiny\nauthor: Me\n", 3, "unknown key 'author'"),
        ("bad id", "id: tiny", "id: Tiny Thing", 1, "must be lower case letters"),
        ("unknown step kind", '  - say: "Hello {first} and {second}."', '  - sing: "Hello"', 10, "a step is exactly one of"),
        ("unknown placeholder", "{first} and {second}", "{foo}", 10, "unknown placeholder {foo}"),
        ("placeholder outside its loop", "{first} and {second}", "{partner}", 10, "unknown placeholder {partner}"),
        ("item before pick", "{first} and {second}", "{item}", 10, "unknown placeholder {item}"),
        ("each_partner nested", '      - prompt: "{partner}, {item}"', '      - each_partner:\n          - prompt: "{partner}"', 13,
         "'each_partner' cannot be inside another 'each_partner'"),
        ("pick of a missing pool", "  - pick: stems", "  - pick: questions", 11, "'questions' is not one"),
        ("count larger than the pool", '  - pick: stems\n  - each_partner:\n      - prompt: "{partner}, {item}"\n',
         '  - each_item:\n      pool: stems\n      count: 3\n      steps:\n        - prompt: "{item}"\n', 13, "count 3 is more than the 2 items"),
        ("each_item of a missing pool", '  - pick: stems\n  - each_partner:\n      - prompt: "{partner}, {item}"\n',
         '  - each_item:\n      pool: nope\n      steps:\n        - prompt: "{item}"\n', 12, "no pool named 'nope'"),
        ("minutes too long", "", "  - turn:\n      say: Talk.\n      minutes: 90\n", 16, "minutes must be a number from 0.25 to 60, not 90"),
        ("minutes too short", "", "  - turn:\n      say: Talk.\n      minutes: 0.1\n", 16, "minutes must be a number from 0.25 to 60"),
        ("minutes as a word", "", "  - turn:\n      say: Talk.\n      minutes: two\n", 16, "minutes must be a number"),
        ("turn without minutes", "", "  - turn:\n      say: Talk.\n", 14, "'turn' needs 'say:' and 'minutes:'"),
        ("tab", "      - two", "\t- two", 8, "not valid YAML"),
        ("bad indent", "  - pick: stems", "   - pick: stems", 11, "not valid YAML"),
        ("boolean title", "title: Tiny", "title: true", 2, "'title' must be text"),
        ("boolean say", '  - say: "Hello {first} and {second}."', "  - say: false", 10, "'say' takes the text to speak"),
        ("number summary", "summary: A tiny exercise.", "summary: 42", 3, "'summary' must be text"),
        ("confirm_stop not a flag", "summary: A tiny exercise.\n", "summary: A tiny exercise.\nconfirm_stop: sometimes\n", 4, "must be true or false"),
        ("unknown order", "    items:\n", "    order: shuffle\n    items:\n", 6, "order must be 'rotate' or 'sequence'"),
        ("unknown command", "{first} and {second}", "{cmd:dance}", 10, "{cmd:dance} names no command"),
        ("intro without returning", "pools:\n", "intro:\n  first_time: Hello.\npools:\n", 4, "'intro' has exactly 'first_time:'"),
        ("intro with a stray placeholder", "pools:\n", "intro:\n  first_time: Hello {item}.\n  returning: Hi.\npools:\n", 5,
         "unknown placeholder {item}"),
        ("offer_support of a kind", "pools:\n", "offer_support: [always]\npools:\n", 4, "'offer_support' is a list of: finished, stopped"),
        ("skip of a kind", "pools:\n", "skip: everything\npools:\n", 4, "skip must be 'item'"),
        ("item with an unknown key", "      - two\n", "      - text: two\n        colour: red\n", 9, "unknown key 'colour' in an item"),
        ("item timed and together", "      - two\n", "      - text: two\n        minutes: 2\n        together: true\n", 10,
         "either timed ('minutes:') or answered together"),
        ("item minutes without a time", "      - two\n", "      - text: two {minutes}\n", 8, "unknown placeholder {minutes}"),
        ("section note without sections", "    items:\n", "    section_note: {after_minutes: 15, say: Hi.}\n    items:\n", 6,
         "'section_note' needs a pool with 'sections:'"),
        ("prompt without say", '      - prompt: "{partner}, {item}"', "      - prompt:\n          then: Now {partner}.", 13,
         "needs 'say:', the text to speak"),
        ("prompt with a stray wording", '      - prompt: "{partner}, {item}"', "      - prompt:\n          say: Hi.\n          later: Bye.", 15,
         "unknown key 'later' in prompt"),
        ("minutes with no turn after", '"Hello {first} and {second}."', '"Hello, for {minutes}."', 10, "no timed turn comes after it"),
        ("summary minutes with no turn", "summary: A tiny exercise.", "summary: A tiny {minutes}.", 1, "no timed turn"),
    ],
)
def test_exercise_file_errors_name_file_and_line(tmp_path, case, old, new, line, message):
    text = EXERCISE + new if old == "" else EXERCISE.replace(old, new, 1)
    assert old == "" or old in EXERCISE
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ContentError) as error:
        load_exercise(path)
    found = error.value.message
    assert found.startswith(f"{path}:{line}: "), found
    assert message in found


def test_values_without_a_line_still_name_the_file_and_a_line(tmp_path):
    """Numbers and booleans carry no position of their own; the error points at the enclosing key."""
    intents = tmp_path / "intents.yaml"
    intents.write_text(INTENTS.replace("      - no\n", "      - 42\n"))
    with pytest.raises(ContentError, match=r":16: a template is a phrase in quotes, got 42") as error:
        load_intents([intents])
    assert error.value.message.startswith(f"{intents}:")
    exercise = tmp_path / "tiny.yaml"
    exercise.write_text(EXERCISE.replace("      - two", "      - false"))
    with pytest.raises(ContentError, match=r":6: every item must be text, got False") as error:
        load_exercise(exercise)
    assert error.value.message.startswith(f"{exercise}:")


def test_builtin_content_passes_check():
    ids = check_paths([Path(__file__).resolve().parents[1] / "assistant" / "content" / "exercises"])
    assert len(ids) == 7


# ---------------------------------------------------------------- hearth check


def test_hearth_check_reports_file_and_line(tmp_path, hearth_cli):
    path = tmp_path / "broken.yaml"
    path.write_text(EXERCISE.replace("  - pick: stems", "  - pick: questions"))
    result = hearth_cli(["check", path])
    assert result.returncode != 0
    assert f"{path}:11: " in result.stderr
    assert "'questions' is not one" in result.stderr
    assert "Traceback" not in result.stderr


def test_hearth_check_reports_yaml_syntax_errors(tmp_path, hearth_cli):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "good.yaml").write_text(EXERCISE)
    (folder / "tabbed.yaml").write_text(EXERCISE.replace("      - two", "\t- two"))
    result = hearth_cli(["check", folder])
    assert result.returncode != 0
    assert f"{folder / 'tabbed.yaml'}:8: not valid YAML" in result.stderr


def test_hearth_check_reports_broken_intents(tmp_path, hearth_cli):
    path = tmp_path / "intents.yaml"
    path.write_text(INTENTS.replace("contexts: [prompt]", "contexts: [prompt, dinner]"))
    result = hearth_cli(["check", "--intents", path])
    assert result.returncode != 0
    assert f"{path}:17: unknown context 'dinner'" in result.stderr


def test_hearth_check_passes_builtin_content(hearth_cli):
    result = hearth_cli(["check"])
    assert result.returncode == 0, result.stderr
    assert "ok: 7 exercises" in result.stdout
    good = hearth_cli(["check", Path(__file__).resolve().parents[1] / "assistant" / "content" / "exercises"])
    assert good.returncode == 0, good.stderr


def test_hearth_check_missing_path(tmp_path, hearth_cli):
    result = hearth_cli(["check", tmp_path / "nowhere.yaml"])
    assert result.returncode != 0
    assert "no such file" in result.stderr


# ---------------------------------------------------------------- a new exercise needs no code

NEW_EXERCISE = """\
id: gratitude_minute
title: Gratitude minute
summary: One thing each of you is grateful for, then a short shared minute.
pools:
  prompts:
    items:
      - "What small thing today are you grateful for?"
      - "Who made your day easier today?"
steps:
  - say: "Hello {first} and {second}, this is the gratitude minute."
  - pick: prompts
  - each_partner:
      - prompt: "{partner}, {item} {listener}, just listen."
  - turn:
      say: "Now talk together for {minutes}."
      minutes: 1
  - say: "That was the gratitude minute. Goodnight."
"""


def test_new_exercise_file_loads_from_a_folder(tmp_path):
    folder = tmp_path / "exercises"
    folder.mkdir()
    (folder / "gratitude.yaml").write_text(NEW_EXERCISE)
    catalog = load_catalog([folder])
    assert "gratitude_minute" in catalog.exercises
    assert len(catalog.exercises) == 8


NEW_NAME = """\
extends: builtin
lists:
  exercise:
    values:
      - in: "[the | our] gratitude minute"
        out: gratitude_minute
intents: {}
"""


def test_new_exercise_runs_in_text_mode_without_code_changes(tmp_path, hearth_cli):
    folder = tmp_path / "exercises"
    folder.mkdir()
    (folder / "gratitude.yaml").write_text(NEW_EXERCISE)
    name = tmp_path / "names.yaml"
    name.write_text(NEW_NAME)
    data = tmp_path / "data"
    unnamed = hearth_cli(["check", "--exercises", folder])
    assert unnamed.returncode != 0  # nothing can start it by voice yet
    assert f"{folder / 'gratitude.yaml'}:1: exercise 'gratitude_minute' cannot be started by voice" in unnamed.stderr
    checked = hearth_cli(["check", "--exercises", folder, "--intents", name])
    assert checked.returncode == 0, checked.stderr
    result = hearth_cli(
        ["--text", "--mute", "--fake-clock", "--exercises", folder, "--intents", name, "--data-dir", data, "--names", "Alex", "Sam"],
        stdin="start the gratitude minute\nI'm done\nI'm done\n:wait 61\nstart our daily check in\n",
    )
    assert result.returncode == 0, result.stderr
    expected = [
        "hearth: Hello Alex and Sam, this is the gratitude minute.",
        "hearth: Alex, What small thing today are you grateful for? Sam, just listen.",
        "hearth: Sam, What small thing today are you grateful for? Alex, just listen.",
        "hearth: Now talk together for one minute.",
        "[chime: turn start]",
        "[chime: turn end]",
        "hearth: That was the gratitude minute. Goodnight.",
    ]
    lines = result.stdout.splitlines()
    assert any("Time for a short check-in." in line for line in lines[-4:]), result.stdout  # the built-in names still work
    positions = [lines.index(line) for line in expected]
    assert positions == sorted(positions), result.stdout


def test_starting_an_unknown_exercise_names_the_choices(tmp_path, hearth_cli):
    result = hearth_cli(["start", "karaoke", "--text", "--mute", "--fake-clock", "--data-dir", tmp_path / "data"])
    assert result.returncode != 0
    assert "there is no exercise 'karaoke'" in result.stderr
    assert "check_in" in result.stderr


# ---------------------------------------------------------------- fixed slot values and checks across files


def test_a_template_group_sets_its_slot_values(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(INTENTS.replace("      - no\n", "      - no\n      - templates: [\"sure thing\", \"of course\"]\n        slots: {answer: yes, sure: 1}\n"))
    intents = load_intents([path])
    assert intents.match("of course", "prompt").slots == {"answer": "yes", "sure": 1}
    assert intents.match("yes", "prompt").slots == {}


def test_an_info_phrase_without_an_explanation_is_a_problem(tmp_path, hearth_cli):
    path = tmp_path / "mine.yaml"
    path.write_text('extends: builtin\nintents:\n  info:\n    contexts: [any]\n    wake_required_in: [idle]\n    help: what about stars\n'
                    '    templates:\n      - "what is {topic}"\n      - templates: ["what about stars"]\n        slots: {topic: astrology}\n'
                    '      - "tell us a story"\n')
    result = hearth_cli(["check", "--intents", path])
    assert result.returncode == 2
    assert f"{path}:3: the info phrase 'what about stars' leads to topic 'astrology', which has no explanation" in result.stderr
    assert f"{path}:3: the info phrase 'tell us a story' names no topic" in result.stderr
    started = hearth_cli(["--text", "--mute", "--intents", path, "--data-dir", tmp_path / "data"])
    assert started.returncode == 2 and "which has no explanation" in started.stderr  # at start-up too, not on the evening


def test_hearth_check_names_a_word_the_recognizer_does_not_know(tmp_path, hearth_cli):
    path = tmp_path / "mine.yaml"
    path.write_text('extends: builtin\nintents:\n  cheer:\n    contexts: [prompt]\n    templates: ["hooray for counselling"]\n')
    result = hearth_cli(["check", "--intents", path])
    assert result.returncode == 2
    assert f"{path}:3: intent 'cheer' uses counselling, which the recognizer does not know" in result.stderr


LINES_FILE = Path(__file__).resolve().parents[1] / "assistant" / "content" / "lines.yaml"


@pytest.mark.parametrize(
    ("case", "old", "new", "message"),
    [
        ("missing line", '  good_night: "Good night, you two."\n', "", "the line 'good_night' is missing"),
        ("unknown line", '  good_night: "Good night, you two."\n', '  good_night: "Good night."\n  farewell: "Bye."\n',
         "unknown key 'farewell' in lines"),
        ("stray placeholder", '"Good night, you two."', '"Good night, {partner}."', "unknown placeholder {partner}"),
        ("unknown command", '"Good night, you two."', '"Say {cmd:sing}."', "{cmd:sing} names no command"),
        ("unknown intent in help_order", "  confirming: [yes, no, info]", "  confirming: [yes, maybe]", "'maybe' is not an intent"),
    ],
)
def test_lines_file_errors_name_file_and_line(tmp_path, builtin_intents, case, old, new, message):
    from assistant.lines import load_lines
    from assistant.phrasebook import Phrasebook

    text = LINES_FILE.read_text()
    assert old in text
    path = tmp_path / "lines.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ContentError) as error:
        load_lines(path, Phrasebook.of(builtin_intents))
    assert error.value.message.startswith(f"{path}:"), error.value.message
    assert message in error.value.message
