"""The engine's table, and exercises that follow their protocols, on the pure engine with a fake clock."""

from __future__ import annotations

import pytest

from assistant.engine import COMMANDS, EVENTS, MODES, Chime, Heard, NotLive, Say, SessionEnded, StartTimer, Tick, Unhandled, step
from engine_harness import LINES, RETURNING, Evening, all_chimes, chimes, evening, said  # noqa: F401 (evening: a fixture)

# ---------------------------------------------------------------- the table


def test_the_table_has_a_row_for_every_built_in_intent_and_a_column_for_every_mode(builtin_intents):
    assert set(COMMANDS) == builtin_intents.names()
    for row in list(COMMANDS.values()) + list(EVENTS.values()):
        assert tuple(row) == MODES


def _in_every_mode(catalog):
    """An evening in each mode: idle, speaking, waiting, timing, paused, asking whether to stop."""
    idle = Evening(catalog)
    speaking = Evening(catalog, instant=False)
    speaking.start("thirty_six_questions")
    waiting = Evening(catalog)
    waiting.start("thirty_six_questions")
    timing = Evening(catalog)
    timing.start("device_free_talk")
    paused = Evening(catalog)
    paused.start("check_in")
    paused.hear("pause")
    confirming = Evening(catalog)
    confirming.start("device_free_talk")
    confirming.hear("stop")
    return dict(zip(MODES, (idle, speaking, waiting, timing, paused, confirming)))


def test_every_accepted_command_is_acknowledged_first_and_every_refused_one_hears_why(builtin_catalog, builtin_intents):
    for mode, ev in _in_every_mode(builtin_catalog).items():
        assert ev.state.session is None or mode != "idle"
        for intent in COMMANDS:
            slots = {"topic": "when_to_get_help"} if intent == "info" else {"exercise": "check_in"} if intent in ("start", "continue") else {}
            state, effects = step(ev.state, Heard(intent, slots), ev.now)
            assert effects, (mode, intent)
            first = effects[0]
            assert isinstance(first, Chime) and first.kind in ("acknowledged", "not_understood"), (mode, intent, effects)
            spoken = [e for e in effects if isinstance(e, Say)]
            if spoken:
                assert effects.index(first) < effects.index(spoken[0])  # heard at once, before any words
            if first.kind == "not_understood":
                assert len(spoken) == 1, (mode, intent)
                assert state.session == ev.state.session and state.progress == ev.state.progress  # nothing else changes


def test_not_live_gives_the_not_understood_chime_and_what_can_be_said_now(builtin_catalog, builtin_intents):
    book = builtin_catalog.phrases
    for mode, ev in _in_every_mode(builtin_catalog).items():
        for intent in builtin_intents.names():
            state, effects = step(ev.state, NotLive(intent), ev.now)
            assert effects[0].kind in ("not_understood", "acknowledged"), (mode, intent)  # good night is understood
            (say,) = [e for e in effects if isinstance(e, Say)]
            assert state.session == ev.state.session and state.progress == ev.state.progress
            if effects[0].kind == "not_understood":
                assert any(phrase in say.text for phrase in book.help.values()), (mode, intent, say.text)


def test_not_live_during_a_turn_is_soft_and_keeps_the_timer(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(30)
    effects = ev.send(NotLive("back"))
    assert all_chimes(effects) == ["not_understood"]
    assert [e.soft for e in effects if isinstance(e, Say)] == [True]
    assert said(effects)[0].startswith("Not just now. You can say juniper, that's all from me;")
    assert ev.left() == 90.0 and ev.context == "turn"


def test_an_unknown_event_leaves_the_state_unchanged(builtin_catalog):
    ev = Evening(builtin_catalog)
    ev.start("check_in")
    assert step(ev.state, Heard("dance"), ev.now) == (ev.state, [Unhandled("dance")])
    assert step(ev.state, Tick(), ev.now + 1) == (ev.state, [])


def test_do_you_want_to_stop_here_accepts_yes_and_the_stop_phrase_again(builtin_catalog, builtin_intents):
    for answer in ("yes", "yes stop", "yes let's stop", "yes, stop", "we're done for tonight", "juniper, we're done for tonight"):
        ev = Evening(builtin_catalog)
        ev.start("device_free_talk")
        question = said(ev.hear("stop"))[0]
        assert question == "Do you want to stop here? Say yes, stop, or no, keep going."  # it says what to answer
        assert ev.context == "confirm"  # yes and no are live only now
        match = builtin_intents.match(answer, ev.context, enforce_wake=True)
        assert match is not None, answer
        effects = ev.hear(match.intent)
        assert effects[0] == Chime("acknowledged")
        assert [e for e in effects if isinstance(e, SessionEnded)] == [SessionEnded("device_free_talk", completed=False)], answer


# ---------------------------------------------------------------- the 36 Questions


def test_the_36_questions_read_each_question_once_then_hand_it_over(evening):
    ev = evening(progress=RETURNING)
    lines = said(ev.start("thirty_six_questions"))
    assert lines[:2] == ["The thirty-six questions, Alex and Sam.", "Set one: twelve light questions to begin."]
    assert lines[2] == "Question 1. Anyone in the world could join you for dinner. Who would you invite? Alex first."
    assert said(ev.hear("next")) == ["Now Sam."]
    assert said(ev.hear("next"))[0].endswith("Sam first.")


def test_item_eleven_is_four_timed_minutes_each_with_chimes(evening):
    ev = evening(progress={**RETURNING, "thirty_six_questions/questions": 10})
    effects = ev.hear("continue")
    assert said(effects)[-1].startswith("Question 11. Take four minutes each")
    assert StartTimer(240.0, 240.0) in effects and chimes(effects) == ["turn_start"]
    assert ev.context == "turn"
    assert chimes(ev.wait(180)) == ["minute_left"]
    effects = ev.wait(60)
    assert chimes(effects) == ["turn_end", "turn_start"] and said(effects) == ["Now Sam."]
    effects = ev.wait(240)
    assert chimes(effects) == ["minute_left", "turn_end"]
    assert said(effects)[-1].startswith("Question 12.")


def test_item_twenty_two_is_one_joint_item(evening):
    ev = evening(progress={**RETURNING, "thirty_six_questions/questions": 21})
    assert said(ev.hear("continue"))[-1].endswith("Alex, you begin.")
    assert said(ev.hear("next"))[-1].startswith("Question 23.")  # one "next" for both: they alternated within it


def test_stopped_during_a_question_and_resumed_with_the_partner_who_has_not_answered(evening, builtin_catalog):
    ev = evening(progress=RETURNING)
    ev.start("thirty_six_questions")
    ev.hear("next")
    ev.hear("next")  # question 2: Sam first
    ev.hear("next")  # Sam has answered; now Alex
    assert ev.session.current.text == "Now Alex."
    ev.hear("stop")
    stopped = said(ev.hear("yes"))
    assert stopped[0].startswith("Okay, we'll stop here, during question two of thirty six. Your place is saved")
    another_evening = Evening(builtin_catalog, ev.state.progress)
    lines = said(another_evening.hear("continue"))
    assert lines[0] == "Welcome back. You stopped during question two."
    assert lines[-1] == "Question 2. Do you wish you were famous? What kind of fame would you want? Alex, it's your turn."
    assert said(another_evening.hear("next"))[0].startswith("Question 3.")  # Sam is not asked again
    assert another_evening.session.current.partner == "Sam"  # and the next question opens with the other partner


def test_stopping_again_before_the_pending_answer_keeps_it_pending(evening, builtin_catalog):
    ev = evening(progress={**RETURNING, "thirty_six_questions/questions": 4, "thirty_six_questions/questions/pending": 2})
    assert said(ev.hear("continue"))[-1].endswith("Sam, it's your turn.")
    ev.hear("stop")
    ev.hear("yes")
    again = Evening(builtin_catalog, ev.state.progress)
    assert said(again.hear("continue"))[-1].endswith("Sam, it's your turn.")


def test_a_gentle_note_once_a_set_has_taken_about_fifteen_minutes(evening, builtin_catalog):
    ev = evening(progress=RETURNING)
    ev.start("thirty_six_questions")
    note = builtin_catalog.exercises["thirty_six_questions"].pools["questions"].section_note.text
    for _ in range(6):
        ev.wait(120)
        assert note not in said(ev.hear("next"))
    ev.wait(200)  # about sixteen minutes in set one
    effects = ev.hear("next")
    assert said(effects)[0] == note and "about fifteen minutes on this set" in note
    assert said(effects)[1] == ev.session.current.text  # then the question as usual
    ev.wait(900)
    assert note not in said(ev.hear("next"))  # once a set
    for _ in range(40):
        if ev.session.current.section == 2:
            break
        ev.hear("skip")
    ev.wait(16 * 60)
    assert note in said(ev.hear("next"))  # the next set has its own fifteen minutes


# ---------------------------------------------------------------- vulnerability and safety


def test_vulnerability_pass_is_personal_and_the_evening_closes_with_a_check_in(evening):
    ev = evening(progress=RETURNING)
    opening = said(ev.start("vulnerability"))
    assert "Anyone can say pass on this one." in opening[0]
    effects = ev.hear("skip")  # Alex passes
    assert effects[0] == Chime("acknowledged")
    assert ev.session.current.partner == "Sam" and ev.session.current.item_number == 1  # Sam still gets the sentence
    ev.hear("next")
    ev.hear("next")
    ev.hear("next")
    assert ev.session.current.text.startswith("Before we finish: how are you both feeling, right now?")
    closing = said(ev.hear("done_turn"))
    assert closing == ["Thank you both. Nothing needs to be solved tonight. It is enough that you heard each other.", LINES["support_offer"]]
    assert "juniper, when should we get help" in LINES["support_offer"] and "your local emergency number" in LINES["support_offer"]


def test_the_support_offer_comes_once_an_evening(evening):
    ev = evening(progress=RETURNING)
    ev.start("vulnerability")
    ev.hear("stop")
    assert LINES["support_offer"] in said(ev.hear("yes"))
    ev.start("thirty_six_questions")
    ev.hear("stop")
    assert LINES["support_offer"] not in said(ev.hear("yes"))


@pytest.mark.parametrize("exercise", ["check_in", "appreciation", "ten_minute_question", "device_free_talk"])
def test_light_exercises_do_not_offer_support(evening, exercise):
    ev = evening(progress=RETURNING)
    ev.start(exercise)
    ev.hear("stop")
    ev.hear("yes")
    assert LINES["support_offer"] not in said(ev.log)


def test_the_safety_explanation_is_reachable_from_every_phrasing_of_the_help_and_info_intents(builtin_intents, builtin_catalog):
    safety = builtin_catalog.info["when_to_get_help"]
    first = safety.pages[0]
    for words in ("suicide", "crisis line" if "crisis line" in first else "{crisis_line}", "emergency services", "abuse",
                  "violence", "afraid", "domestic violence service", "not the first step", "Emotionally Focused Therapy"):
        assert words in first, words  # safety first: on the page said when asked
    rest = " ".join(safety.pages)
    for words in ("criticism", "contempt", "defensiveness", "stonewalling", "guide, not a therapist", "does not diagnose"):
        assert words in rest, words
    info = next(i for i in builtin_intents.intents if i.name == "info")
    phrasings = [p for p in builtin_intents.intent_graph(info).phrases(100_000) if "bid" not in p and "turning" not in p]
    assert len(phrasings) > 20
    for phrase in phrasings:
        for context in ("idle", "prompt", "turn"):
            match = builtin_intents.match(f"juniper {phrase}", context, enforce_wake=True)
            assert match is not None and match.intent == "info", (phrase, context)
            assert match.slots.get("topic") in builtin_catalog.info, (phrase, context, match.slots)
    idle = Evening(builtin_catalog)
    assert "juniper, when should we get help" in said(idle.hear("help"))[0]  # help says hearth can explain it
    assert "juniper, when should we get help" in said(idle.hear("list_exercises"))[0]  # and so does the list
    help_phrases = builtin_intents.intent_graph(next(i for i in builtin_intents.intents if i.name == "help")).phrases(1000)
    for mode, ev in _in_every_mode(builtin_catalog).items():
        for phrase in help_phrases:  # every way of asking for help, in every mode, leads to it (with "more")
            match = builtin_intents.match(f"juniper {phrase}", ev.context, enforce_wake=True)
            assert match is not None and match.intent == "help", (phrase, mode)
        state, effects = step(ev.state, Heard("help"), ev.now)
        pages = said(effects)
        while state.listing is not None:
            state, effects = step(state, Heard("more"), ev.now)
            pages += said(effects)
        assert any("when should we get help" in page for page in pages), (mode, pages)


# ---------------------------------------------------------------- listening turns


def test_listening_turns_the_speaker_confirms_the_reflection_before_the_swap(evening):
    ev = evening(progress=RETURNING)
    ev.start("listening_turns")
    ev.wait(181)
    assert ev.session.current.text.startswith("Sam, tell Alex what you heard")
    effects = ev.wait(60)
    assert said(effects) == ["Alex, did Sam get it right? Say what fits, and add anything that was missed. Then say that's all from me."]
    assert ev.session.phase == "waiting" and ev.context == "prompt"
    waited = ev.wait(600)
    assert all(e.soft for e in waited if isinstance(e, Say)) and ev.session.phase == "waiting"  # it waits for them
    effects = ev.hear("done_turn")
    assert said(effects)[0].startswith("Sam, you are the speaker, for three minutes.")
