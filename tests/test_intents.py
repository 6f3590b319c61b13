"""The matcher on many phrasings (tests/phrasings.tsv), the wake name, and the recognizer grammars."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from assistant.errors import ContentError
from assistant.intents import (
    CONTEXTS,
    Alt,
    Opt,
    Seq,
    Slot,
    Word,
    normalize,
    number_words,
    parse_template,
)
from assistant.intent_yaml import load_intents
from stable_names import EXERCISE_IDS

TABLE = Path(__file__).with_name("phrasings.tsv")
WAKE = "juniper"


def _rows() -> tuple[list[tuple[str, str, str, dict[str, str]]], list[str]]:
    commands, non_commands = [], []
    for number, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        assert len(columns) == 4, f"phrasings.tsv:{number}: needs 4 tab-separated columns, got {columns}"
        context, text, intent, slots = columns
        if intent == "-":
            assert context == "any", f"phrasings.tsv:{number}: a non-command row has context 'any'"
            non_commands.append(text)
            continue
        assert context in CONTEXTS, f"phrasings.tsv:{number}: unknown context {context}"
        parsed = dict(pair.split("=", 1) for pair in slots.split(";") if pair)
        commands.append((context, text, intent, parsed))
    return commands, non_commands


COMMANDS, NON_COMMANDS = _rows()


def _slots(match) -> dict[str, str]:
    return {key: str(value) for key, value in match.slots.items()}


def _addressed(text: str) -> bool:
    return normalize(text)[:1] == [WAKE] or normalize(text)[:2] == ["hey", WAKE]


# ---------------------------------------------------------------- the table itself


def test_table_covers_every_intent_and_exercise():
    per_intent = Counter(intent for _, _, intent, _ in COMMANDS)
    required = ["continue", "next", "repeat", "back", "skip", "pause", "resume", "more_time", "time_left",
                "done_turn", "stop", "help", "list_exercises", "yes", "no", "info", "topic", "more"]
    for intent in required:
        assert per_intent[intent] >= 5, f"only {per_intent[intent]} phrasings of {intent}"
    per_exercise = Counter(slots.get("exercise") for _, _, intent, slots in COMMANDS if intent == "start")
    for exercise in EXERCISE_IDS:
        assert per_exercise[exercise] >= 5, f"only {per_exercise[exercise]} phrasings start {exercise}"
    info_topics = {slots.get("topic") for _, _, intent, slots in COMMANDS if intent == "info"}
    assert {"bids_for_connection", "when_to_get_help"} <= info_topics
    # an explanation without a topic would answer "I don't have anything on that": every row names one
    assert all(slots.get("topic") for _, _, intent, slots in COMMANDS if intent == "info")
    more = [slots for _, _, intent, slots in COMMANDS if intent == "more_time"]
    assert any("minutes" in s for s in more) and any("minutes" not in s for s in more)
    texts = [text for _, text, _, _ in COMMANDS]
    for filler in ("okay", "um", "please", "can you", "let's"):
        assert any(filler in text.lower().split(" ") or filler in text.lower() for text in texts), filler
    assert any(re.search(r"\d", text) for text in texts), "no typed digits"
    assert any("-" in text for text in texts), "no hyphenated words"
    assert len(NON_COMMANDS) >= 20


# ---------------------------------------------------------------- phrasings


@pytest.mark.parametrize(("context", "text", "intent", "slots"), COMMANDS, ids=[f"{c}:{t}" for c, t, _, _ in COMMANDS])
def test_phrasing_is_understood(builtin_intents, context, text, intent, slots):
    match = builtin_intents.match(text, context)
    assert match is not None, f"'{text}' matched nothing in {context}"
    assert (match.intent, _slots(match)) == (intent, slots)
    assert 0 < match.score <= 1


@pytest.mark.parametrize(("context", "text", "intent", "slots"), COMMANDS, ids=[f"{c}:{t}" for c, t, _, _ in COMMANDS])
def test_phrasing_spoken_obeys_the_wake_name(builtin_intents, context, text, intent, slots):
    """Spoken: with the wake name in front it means the same; without, only where no wake is needed."""
    definition = next(i for i in builtin_intents.intents if i.name == intent)
    if _addressed(text):
        match = builtin_intents.match(text, context, enforce_wake=True)
        assert match is not None and match.addressed and (match.intent, _slots(match)) == (intent, slots)
        bare = re.sub(rf"^\s*(hey\s+)?{WAKE}\W*", "", text, flags=re.IGNORECASE)
        if builtin_intents.needs_wake(definition, context):
            assert builtin_intents.match(bare, context, enforce_wake=True) is None
        return
    addressed = builtin_intents.match(f"{WAKE}, {text}", context, enforce_wake=True)
    assert addressed is not None and addressed.addressed
    assert (addressed.intent, _slots(addressed)) == (intent, slots)
    spoken = builtin_intents.match(text, context, enforce_wake=True)
    if builtin_intents.needs_wake(definition, context):
        assert spoken is None, f"'{text}' must need the wake name in {context}"
    else:
        assert spoken is not None and (spoken.intent, _slots(spoken)) == (intent, slots)
        assert not spoken.addressed


@pytest.mark.parametrize("text", NON_COMMANDS)
@pytest.mark.parametrize("context", CONTEXTS)
def test_dinner_talk_is_not_a_command(builtin_intents, context, text):
    spoken = builtin_intents.match(text, context, enforce_wake=True)
    assert spoken is None, f"'{text}' was taken for {spoken}"
    typed = builtin_intents.match(text, context)
    assert typed is None, f"'{text}' (typed) was taken for {typed}"


@pytest.mark.parametrize("command", ["pause", "how much time is left", "I'm done", "give us a topic", "give us 3 more minutes", "stop the exercise"])
def test_turn_commands_need_the_wake_name_when_spoken(builtin_intents, command):
    typed = builtin_intents.match(command, "turn")
    assert typed is not None
    assert builtin_intents.match(command, "turn", enforce_wake=True) is None
    for addressed_form in (f"juniper, {command}", f"Juniper {command}", f"hey juniper, {command}", f"okay juniper {command}"):
        match = builtin_intents.match(addressed_form, "turn", enforce_wake=True)
        assert match is not None and match.addressed, addressed_form
        assert (match.intent, dict(match.slots)) == (typed.intent, dict(typed.slots))


def test_wake_name_alone_or_with_dinner_talk_is_nothing(builtin_intents):
    for context in CONTEXTS:
        assert builtin_intents.match("juniper", context, enforce_wake=True) is None
        assert builtin_intents.match("juniper, it's your turn to pick the movie", context, enforce_wake=True) is None
        assert builtin_intents.match("", context) is None
        assert builtin_intents.match("?!", context) is None


def test_commands_are_only_live_in_their_contexts(builtin_intents):
    assert builtin_intents.match("next question", "idle") is None
    assert builtin_intents.match("start our check in", "prompt") is None
    assert builtin_intents.match("yes stop", "turn") is None  # yes/no answer a question: prompt only
    assert builtin_intents.match("skip this one", "turn") is None
    assert builtin_intents.match("next question", "turn").intent == "next"


def test_minutes_slot_is_a_number(builtin_intents):
    match = builtin_intents.match("give us 12 more minutes", "prompt")
    assert match.slots == {"minutes": 12}
    assert isinstance(match.slots["minutes"], int)
    assert builtin_intents.match("give us 21 more minutes", "prompt") is None  # the list is 1..20


def test_fillers_lower_the_score(builtin_intents):
    exact = builtin_intents.match("next question", "prompt")
    padded = builtin_intents.match("um okay next question please", "prompt")
    assert exact.score == 1.0
    assert padded.intent == "next" and padded.score < exact.score


def test_normalize_spells_digits_and_splits_hyphens():
    assert normalize("Start the 36 Questions!") == ["start", "the", "thirty", "six", "questions"]
    assert normalize("our check-in, please") == ["our", "check", "in", "please"]
    assert normalize("I\u2019m done.") == ["i'm", "done"]
    assert normalize("give us 2 more minutes") == ["give", "us", "two", "more", "minutes"]
    assert [number_words(n) for n in (0, 7, 10, 20, 36, 99)] == ["zero", "seven", "ten", "twenty", "thirty six", "ninety nine"]
    with pytest.raises(ValueError):
        number_words(100)


def test_template_parser_builds_the_tree():
    tree = parse_template("(start | begin) [our] {exercise} now")
    assert tree == Seq((Alt((Word("start"), Word("begin"))), Opt(Word("our")), Slot("exercise"), Word("now")))


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("(start | begin {exercise}", "never closes"),
        ("start ] now", "unmatched"),
        ("Start now", "lower case"),
        ("start 36 questions", "numbers as words"),
        ("start (| now)", "empty alternative"),
        ("start <now>", "lower case"),
        ("start {exer-cise}", "character"),
    ],
)
def test_template_parser_rejects(template, message):
    with pytest.raises(ContentError, match=re.escape(message)) as error:
        parse_template(template, "f.yaml:3")
    assert str(error.value).startswith("f.yaml:3:")


# ---------------------------------------------------------------- phrases and grammars


def _expand_with_slots(node, lists):
    """Test oracle: every (words, slots) a template yields, written independently of intents.expand."""
    if isinstance(node, Word):
        return [((node.text,), ())]
    if isinstance(node, Opt):
        return [((), ())] + _expand_with_slots(node.inner, lists)
    if isinstance(node, Alt):
        return [result for option in node.options for result in _expand_with_slots(option, lists)]
    if isinstance(node, Slot):
        return [
            (words, ((node.name, str(value.value)),) + slots)
            for value in lists[node.name].values
            for words, slots in _expand_with_slots(value.spoken, lists)
        ]
    results = [((), ())]
    for item in node.items:
        results = [(w1 + w2, s1 + s2) for w1, s1 in results for w2, s2 in _expand_with_slots(item, lists)]
    return results


def _oracle(intents, context):
    """phrase -> {(intent, slots)} for every phrase live in a context, with and without the wake name."""
    meanings: dict[str, set] = defaultdict(set)
    for intent in intents.live(context):
        for index, template in enumerate(intent.templates):
            fixed = tuple((name, str(value)) for name, value in intent.slots_of(index).items())
            for words, slots in _expand_with_slots(template, intents.lists):
                meaning = (intent.name, tuple(sorted(dict(fixed + slots).items())))
                body = " ".join(words)
                meanings[f"{WAKE} {body}"].add(meaning)
                if not intents.needs_wake(intent, context):
                    meanings[body].add(meaning)
    return meanings


def _phrases(intents, context):
    phrases = intents.grammar(context).phrases(1_000_000)
    assert phrases is not None
    return phrases


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_phrase_matches_its_intent(builtin_intents, context):
    phrases = _phrases(builtin_intents, context)
    oracle = _oracle(builtin_intents, context)
    assert set(phrases) == set(oracle)
    assert len(phrases) == len(set(phrases))
    ambiguous = {phrase: sorted(m) for phrase, m in oracle.items() if len({intent for intent, _ in m}) > 1}
    assert not ambiguous, f"phrases that belong to two intents: {list(ambiguous.items())[:5]}"
    wrong = []
    for phrase in phrases:
        match = builtin_intents.match(phrase, context, enforce_wake=True)
        got = None if match is None else (match.intent, tuple(sorted(_slots(match).items())))
        if got not in oracle[phrase]:
            wrong.append((phrase, got, sorted(oracle[phrase])))
    assert not wrong, f"{len(wrong)} phrases do not match their own intent, e.g. {wrong[:5]}"


def test_turn_phrases_all_start_with_the_wake_name(builtin_intents):
    phrases = _phrases(builtin_intents, "turn")
    assert phrases
    assert all(phrase.startswith(f"{WAKE} ") for phrase in phrases)
    assert "juniper pause" in phrases and "pause" not in phrases


def test_idle_unaddressed_phrases_are_only_start_and_continue(builtin_intents):
    bare = [phrase for phrase in _phrases(builtin_intents, "idle") if not _addressed(phrase)]
    assert bare
    intents = {builtin_intents.match(phrase, "idle", enforce_wake=True).intent for phrase in bare}
    assert intents == {"start", "continue"}
    addressed = {builtin_intents.match(p, "idle", enforce_wake=True).intent for p in _phrases(builtin_intents, "idle") if _addressed(p)}
    assert {"help", "info", "list_exercises", "start"} <= addressed


def test_prompt_phrases_need_no_wake_name(builtin_intents):
    phrases = set(_phrases(builtin_intents, "prompt"))
    for phrase in ("next question", "i'm done", "juniper next question"):
        assert phrase in phrases
    confirm = set(_phrases(builtin_intents, "confirm"))
    for phrase in ("yes stop", "no keep going", "next question", "stop now"):
        assert phrase in confirm


def test_yes_and_no_are_live_only_when_hearth_asked(builtin_intents):
    """ "Yes" is said all evening; it means something only after "do you want to stop here?"."""
    for word in ("yes", "no", "yeah", "nope"):
        assert builtin_intents.match(word, "prompt", enforce_wake=True) is None
        assert builtin_intents.match(word, "confirm", enforce_wake=True) is not None
    assert not builtin_intents.is_phrase("yes", "prompt") and builtin_intents.is_phrase("yes", "confirm")


_JSGF_TOKEN = re.compile(r"<[a-z_0-9]+>|[()\[\]|]|[a-z']+")


def _parse_jsgf(jsgf: str) -> tuple[str, dict[str, list[str]]]:
    lines = jsgf.strip().split("\n")
    assert lines[0] == "#JSGF V1.0;"
    assert re.fullmatch(r"grammar [a-z_]+;", lines[1])
    rules: dict[str, list[str]] = {}
    public = None
    for line in lines[2:]:
        found = re.fullmatch(r"(public )?<([a-z_0-9]+)> = (.+);", line)
        assert found, f"not a JSGF rule: {line}"
        name, body = found.group(2), found.group(3)
        assert name not in rules, f"<{name}> defined twice"
        tokens = _JSGF_TOKEN.findall(body)
        assert "".join(tokens) == body.replace(" ", ""), f"stray characters in <{name}>"
        assert body.count("(") == body.count(")") and body.count("[") == body.count("]")
        rules[name] = tokens
        if found.group(1):
            assert public is None, "two public rules"
            public = name
    assert public is not None, "no public rule"
    return public, rules


def _jsgf_language(rules: dict[str, list[str]], name: str, memo: dict[str, set]) -> set[tuple[str, ...]]:
    if name in memo:
        return memo[name]
    tokens = rules[name]

    def alternatives(pos: int, closing: str | None) -> tuple[set, int]:
        result: set = set()
        while True:
            seq, pos = sequence(pos)
            result |= seq
            if pos < len(tokens) and tokens[pos] == "|":
                pos += 1
                continue
            break
        if closing is not None:
            assert tokens[pos] == closing, f"<{name}>: expected {closing}"
            pos += 1
        return result, pos

    def sequence(pos: int) -> tuple[set, int]:
        result: set = {()}
        while pos < len(tokens) and tokens[pos] not in ("|", ")", "]"):
            token = tokens[pos]
            if token == "(":
                part, pos = alternatives(pos + 1, ")")
            elif token == "[":
                part, pos = alternatives(pos + 1, "]")
                part |= {()}
            elif token.startswith("<"):
                part, pos = _jsgf_language(rules, token[1:-1], memo), pos + 1
            else:
                part, pos = {(token,)}, pos + 1
            result = {a + b for a in result for b in part}
        return result, pos

    language, end = alternatives(0, None)
    assert end == len(tokens), f"<{name}>: unparsed tokens"
    memo[name] = language
    return language


@pytest.mark.parametrize("context", CONTEXTS)
def test_jsgf_compiles_and_says_exactly_the_phrases(builtin_intents, context):
    grammar = builtin_intents.grammar(context)
    assert grammar.context == context
    public, rules = _parse_jsgf(grammar.jsgf)
    referenced = {token[1:-1] for tokens in rules.values() for token in tokens if token.startswith("<")}
    assert referenced <= set(rules), f"rules used but never defined: {referenced - set(rules)}"
    assert set(rules) - referenced == {public}, "every rule but the public one is used"
    language = {" ".join(words) for words in _jsgf_language(rules, public, {})}
    assert language == set(_phrases(builtin_intents, context))
    assert len(grammar.jsgf) < 20_000, "the JSGF should stay compact, not list every phrase"


@pytest.mark.parametrize("context", CONTEXTS)
def test_vocabulary_covers_the_phrases(builtin_intents, context):
    grammar = builtin_intents.grammar(context)
    words = {word for phrase in _phrases(builtin_intents, context) for word in phrase.split()}
    assert grammar.vocabulary == words
    assert WAKE in grammar.vocabulary
    assert all(re.fullmatch(r"[a-z][a-z']*", word) for word in words)


def test_intent_set_sources_and_names(builtin_intents):
    assert builtin_intents.wake_name == WAKE
    assert {"start", "continue", "next", "stop", "yes", "no", "info", "topic", "more_time"} <= builtin_intents.names()
    assert all(Path(source).exists() for source in builtin_intents.sources)


def test_not_live_commands_are_known_only_when_addressed() -> None:
    """What a recognizer may report as not live: another context's command after the wake name,
    exactly; never a live command, never the bare words (conversation), never a near miss."""
    intents = load_intents()
    wake = intents.wake_name
    found = intents.not_live_match(f"{wake} ready for the next question", "idle")
    assert found is not None and found.intent == "next"
    assert intents.not_live_match("ready for the next question", "idle") is None
    assert intents.not_live_match(f"{wake} what can I say", "idle") is None  # live in idle: not "not live"
    assert intents.not_live_match(f"{wake} ready for the next question on the quiz", "idle") is None
    turn = intents.not_live_match(f"{wake} go back to the previous question", "turn")
    assert turn is not None and turn.intent == "back"
    assert intents.grammar("any").outside is None
