"""The pure engine: whole evenings on explicit time, no audio, no threads."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from assistant import engine
from assistant.engine import (
    NEXT_FIRST,
    Chime,
    ExtendTimer,
    Heard,
    PauseTimer,
    SaveProgress,
    Say,
    SessionEnded,
    SessionStarted,
    Settings,
    SpeechFinished,
    StartTimer,
    State,
    StopSpeaking,
    StopTimer,
    Tick,
    VoiceActivity,
    context,
    step,
)
from assistant.plan import PlanRequest, compile_plan

from engine_harness import LINES, PARTNERS, Evening, all_chimes, chimes, evening, said  # noqa: F401 (evening: a fixture)

# what a refused command adds: the three commands that matter at that moment
PROMPT_OPTIONS = "You can say ready for the next question, repeat the question, or we're done for tonight."
TURN_OPTIONS = "You can say juniper, that's all from me; juniper, how much time do we have left; or juniper, hold on a moment."


def ended(effects) -> list[SessionEnded]:
    return [e for e in effects if isinstance(e, SessionEnded)]




# ---------------------------------------------------------------- whole exercises


@pytest.mark.parametrize(
    "exercise_id",
    ["check_in", "thirty_six_questions", "appreciation", "vulnerability", "listening_turns", "ten_minute_question", "device_free_talk"],
)
def test_every_exercise_runs_end_to_end(evening, builtin_catalog, exercise_id):
    ev = evening()
    exercise = builtin_catalog.exercises[exercise_id]
    plan, _ = compile_plan(PlanRequest(exercise, PARTNERS, {}, wake="juniper"))
    first = ev.start(exercise_id)
    assert first[:2] == [Chime("acknowledged"), SessionStarted(exercise_id)]
    for _ in range(1000):
        session = ev.session
        if session is None:
            break
        if session.phase == "waiting":
            assert ev.context == "prompt"
            ev.hear("next")
        elif session.phase == "timing":
            assert ev.context == "turn"
            ev.wait(ev.left() + 1)
        else:
            pytest.fail(f"stuck in phase {session.phase}")
    assert ev.session is None and ev.context == "idle"
    assert ended(ev.log) == [SessionEnded(exercise_id, completed=True)]
    spoken = [e.text for e in ev.log if isinstance(e, Say) and not e.soft]
    support = [LINES["support_offer"]] if "finished" in exercise.offer_support else []
    assert spoken == [s.text for s in plan] + support, "every step is said once, in order"
    turns = sum(1 for s in plan if s.kind == "turn")
    assert chimes(ev.log).count("turn_start") == chimes(ev.log).count("turn_end") == turns
    assert ev.state.progress[NEXT_FIRST] == 1


def test_check_in_turns_time_out_with_chimes_in_order(evening):
    ev = evening()
    effects = ev.start("check_in")
    assert said(effects)[1].startswith("Over to you, Alex.")
    assert chimes(effects) == ["turn_start"]
    assert StartTimer(120.0, 120.0) in effects
    assert ev.context == "turn"
    assert ev.at(119.5) == []
    effects = ev.at(120.0)
    assert chimes(effects) == ["turn_end", "turn_start"]
    assert effects.index(Chime("turn_end")) < effects.index(StopTimer()) < effects.index(Chime("turn_start"))
    assert said(effects)[0].startswith("Now Sam, the same question.")
    effects = ev.wait(120)
    assert chimes(effects) == ["turn_end"]
    assert said(effects) == ["Thank you both, for sharing and for listening."]
    assert chimes(ev.log) == ["turn_start", "turn_end", "turn_start", "turn_end"]
    assert ended(ev.log) == [SessionEnded("check_in", completed=True)]


def test_done_ends_a_turn_early(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(30)
    effects = ev.hear("done_turn")
    assert all_chimes(effects) == ["acknowledged", "turn_end", "turn_start"]
    assert StopTimer() in effects and StartTimer(120.0, 120.0) in effects
    assert said(effects)[0].startswith("Now Sam, the same question.")
    assert ev.left() == 120.0


# ---------------------------------------------------------------- the timer


def test_pause_freezes_the_timer_and_resume_continues(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(30)
    effects = ev.hear("pause")
    assert PauseTimer(90.0) in effects and Chime("acknowledged") in effects
    assert said(effects) == [LINES["paused"]]
    assert ev.context == "prompt"
    assert ev.wait(3600) == []  # an hour passes while paused: no chime, no reprompt, nothing
    assert ev.left() == 90.0
    assert said(ev.hear("pause")) == [LINES["already_paused"]]
    effects = ev.hear("resume")
    assert StartTimer(120.0, 90.0) in effects and said(effects) == [LINES["resumed"]]
    assert ev.context == "turn"
    assert ev.wait(89) == []
    assert chimes(ev.wait(1)) == ["turn_end", "turn_start"]


def test_resume_when_not_paused(evening):
    ev = evening()
    ev.start("check_in")
    assert said(ev.hear("resume")) == [LINES["not_paused"] + " " + TURN_OPTIONS]
    assert ev.left() == 120.0


def test_more_time_extends_the_turn(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(100)
    effects = ev.hear("more_time", minutes=2)
    assert ExtendTimer(120.0) in effects
    assert said(effects) == ["Okay, two minutes more."]
    assert all(e.soft for e in effects if isinstance(e, Say))
    assert ev.left() == 140.0
    assert ev.wait(139) == []
    assert chimes(ev.wait(1)) == ["turn_end", "turn_start"]
    ev.wait(50)
    effects = ev.hear("more_time")
    assert ExtendTimer(60.0) in effects and said(effects) == ["Okay, one minute more."]
    assert ev.left() == 130.0


def test_more_time_while_paused_adds_to_what_is_left(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(60)
    ev.hear("pause")
    ev.hear("more_time", minutes=3)
    assert ev.left() == 240.0
    ev.wait(500)
    assert ev.left() == 240.0


def test_time_left_words(evening):
    ev = evening()
    ev.start("check_in")
    assert said(ev.hear("time_left")) == ["About two minutes left."]
    ev.wait(60)
    assert said(ev.hear("time_left")) == ["About a minute left."]
    ev.wait(30)
    assert said(ev.hear("time_left")) == ["Less than a minute left."]
    ev.wait(20)
    assert said(ev.hear("time_left")) == ["Just a few seconds left."]
    assert all(e.soft for e in ev.log if isinstance(e, Say) and "left." in e.text)
    assert ev.left() == 10.0  # asking does not touch the timer


def test_time_left_without_a_timer(evening):
    ev = evening()
    ev.start("appreciation")
    assert said(ev.hear("time_left")) == [LINES["no_timer_left"] + " " + PROMPT_OPTIONS]
    assert said(ev.hear("more_time")) == [LINES["no_timer_more"] + " " + PROMPT_OPTIONS]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1200, "About twenty minutes left."), (600, "About ten minutes left."), (150, "About three minutes left."),
     (120, "About two minutes left."), (60, "About a minute left."), (55, "About a minute left."),
     (54, "Less than a minute left."), (20, "Less than a minute left."), (19, "Just a few seconds left."), (0, "Just a few seconds left.")],
)
def test_time_left_words_table(evening, seconds, words):
    ev = evening()
    ev.start("device_free_talk")  # a twenty-minute turn
    ev.wait(1200 - max(seconds, 1))
    assert said(ev.hear("time_left")) == [words]


def test_minute_left_cue_only_in_long_turns_that_ask_for_it(evening):
    ev = evening()
    ev.start("listening_turns")
    assert ev.session.current.seconds == 180 and ev.session.current.minute_left_cue
    assert ev.wait(119) == []
    effects = ev.wait(1)
    assert chimes(effects) == ["minute_left"]
    assert [e for e in effects if isinstance(e, Say)] == [Say("One minute left.", e.utterance, soft=True) for e in effects if isinstance(e, Say)]
    assert said(effects) == ["One minute left."]
    effects = ev.wait(60)  # no second cue; the speaker turn ends and the one-minute turn starts
    assert chimes(effects) == ["turn_end", "turn_start"]
    assert ev.session.current.seconds == 60
    effects = ev.wait(60)
    assert "minute_left" not in chimes(effects)


def test_no_minute_left_cue_in_a_check_in(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(240)
    assert "minute_left" not in chimes(ev.log)
    assert ended(ev.log)


def test_no_minute_left_cue_in_a_short_adjusted_turn(evening):
    ev = evening()
    ev.start("listening_turns", minutes=1)  # the speaker turn asks for a cue, but is only a minute long
    assert ev.session.current.seconds == 60 and ev.session.current.minute_left_cue
    ev.wait(61)
    assert "minute_left" not in chimes(ev.log)


def test_minute_left_cue_in_the_ten_minute_question(evening):
    ev = evening()
    ev.start("ten_minute_question")
    assert ev.wait(539) == []
    assert chimes(ev.wait(1)) == ["minute_left"]


def test_more_time_after_the_cue_allows_another_cue(evening):
    ev = evening()
    ev.start("ten_minute_question")
    ev.wait(550)
    assert chimes(ev.log).count("minute_left") == 1
    ev.hear("more_time", minutes=5)
    ev.wait(5 * 60 - 5)
    assert chimes(ev.log).count("minute_left") == 2


# ---------------------------------------------------------------- silence


def test_silence_reprompts_twice_then_never_again(evening):
    ev = evening()
    ev.start("appreciation")
    assert ev.session.phase == "waiting"
    t0 = ev.now
    assert ev.at(t0 + 119) == []
    effects = ev.at(t0 + 120)
    assert said(effects) == [LINES["reprompt_first"]]
    assert all(e.soft for e in effects if isinstance(e, Say))
    assert ev.at(t0 + 120 + 179) == []
    assert said(ev.at(t0 + 120 + 180)) == [LINES["reprompt_second"]]
    assert ev.wait(3600) == []
    assert said(ev.log).count(LINES["reprompt_first"]) == 1
    assert said(ev.log).count(LINES["reprompt_second"]) == 1
    assert ev.session.phase == "waiting"  # still waiting for them, quietly


def test_reprompt_delays_come_from_settings(evening):
    ev = evening(first_reprompt_s=10, second_reprompt_s=20)
    ev.start("appreciation")
    assert ev.at(9) == []
    assert said(ev.at(10)) == [LINES["reprompt_first"]]
    assert ev.at(29) == []
    assert said(ev.at(30)) == [LINES["reprompt_second"]]


def test_voice_activity_postpones_the_reprompt(evening):
    ev = evening()
    ev.start("appreciation")
    ev.at(100)
    assert ev.send(VoiceActivity()) == []
    assert ev.at(120) == []
    assert ev.at(219) == []
    assert said(ev.at(220)) == [LINES["reprompt_first"]]
    ev.at(300)
    ev.send(VoiceActivity())
    assert ev.at(400) == []  # would have been due at 220 + 180
    assert said(ev.at(480)) == [LINES["reprompt_second"]]


def test_a_new_prompt_starts_the_silence_count_afresh(evening):
    ev = evening()
    ev.start("appreciation")
    ev.at(110)
    ev.hear("next")
    assert ev.session.phase == "waiting"
    assert ev.at(200) == []  # the first prompt's deadline (120) is gone
    assert said(ev.at(230)) == [LINES["reprompt_first"]]


def test_no_reprompts_while_a_turn_timer_runs(evening):
    ev = evening(first_reprompt_s=5, second_reprompt_s=5)
    ev.start("device_free_talk")
    effects = ev.wait(1199)
    assert said(effects) == ["One minute left."]
    assert LINES["reprompt_first"] not in said(ev.log)


def test_voice_activity_during_a_turn_does_nothing(evening):
    ev = evening()
    ev.start("check_in")
    before = ev.state
    assert ev.send(VoiceActivity()) == []
    assert ev.state == before


def test_pause_at_a_prompt_suspends_reprompts(evening):
    ev = evening()
    ev.start("appreciation")
    ev.hear("pause")
    assert ev.wait(1000) == []
    effects = ev.hear("resume")
    assert said(effects) == [LINES["resumed"]]
    assert ev.at(ev.now + 119) == []
    assert said(ev.at(ev.now + 1)) == [LINES["reprompt_first"]]


# ---------------------------------------------------------------- stopping


def test_stop_in_a_long_exercise_asks_and_no_continues_the_timer(evening):
    ev = evening()
    ev.start("device_free_talk")
    ev.wait(300)
    effects = ev.hear("stop")
    assert PauseTimer(900.0) in effects
    assert said(effects) == [LINES["confirm_stop"]]
    assert ev.context == "confirm" and ev.session.confirming
    assert ev.wait(600) == []  # the question waits; the timer does not run meanwhile
    assert ev.left() == 900.0
    effects = ev.hear("no")
    assert StartTimer(1200.0, 900.0) in effects
    assert said(effects) == [LINES["keep_going"]]
    assert ev.context == "turn" and not ev.session.confirming
    assert ev.left() == 900.0
    assert chimes(ev.wait(899)) == ["minute_left"]
    assert chimes(ev.wait(1)) == ["turn_end"]
    assert ended(ev.log) == [SessionEnded("device_free_talk", completed=True)]


def test_stop_then_yes_ends_and_keeps_the_place(evening):
    ev = evening()
    ev.start("thirty_six_questions")
    for _ in range(4):
        ev.hear("next")
    assert _at(ev) == (3, "Alex")
    assert ev.state.progress["thirty_six_questions/questions"] == 2
    assert said(ev.hear("stop")) == [LINES["confirm_stop"]]
    effects = ev.hear("repeat")  # anything else: ask again
    assert all_chimes(effects) == ["not_understood"] and said(effects) == [LINES["confirm_stop"]]
    effects = ev.hear("yes")
    assert said(effects) == [
        "Okay, we'll stop here, during question three of thirty six. Your place is saved: another evening,"
        " say continue the thirty six questions.",
        LINES["support_offer"],  # a tender exercise stopped early: where to turn, once
    ]
    assert ended(effects) == [SessionEnded("thirty_six_questions", completed=False)]
    assert ev.session is None
    assert ev.state.progress["thirty_six_questions/questions"] == 2
    assert not any(isinstance(e, SaveProgress) and e.key == "thirty_six_questions/questions" for e in effects)


def test_stop_twice_means_yes(evening):
    ev = evening()
    ev.start("vulnerability")
    ev.hear("stop")
    effects = ev.hear("stop")
    assert said(effects) == [LINES["stopped"], LINES["support_offer"]]
    assert ended(effects) == [SessionEnded("vulnerability", completed=False)]


def test_stop_in_a_check_in_ends_at_once(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(10)
    effects = ev.hear("stop")
    assert said(effects) == [LINES["stopped"]]
    assert StopTimer() in effects
    assert ended(effects) == [SessionEnded("check_in", completed=False)]
    assert ev.session is None and ev.context == "idle"
    assert ev.wait(600) == []


def test_stop_while_speaking_waits_for_the_answer(evening):
    """The interrupted words must not move the plan on while hearth asks whether to stop."""
    ev = evening(instant=False)
    effects = ev.start("thirty_six_questions")
    welcome = next(e for e in effects if isinstance(e, Say))
    effects = ev.hear("stop")
    assert StopSpeaking() in effects and said(effects) == [LINES["confirm_stop"]]
    assert ev.send(SpeechFinished(welcome.utterance)) == []  # the cut-off welcome reports finished
    assert ev.session.index == 0 and ev.session.confirming
    effects = ev.hear("no")
    assert said(effects) == [LINES["keep_going"], welcome.text]  # say the cut-off step again


def test_stop_during_a_confirm_stop_prompt_then_no_restarts_the_silence_count(evening):
    ev = evening()
    ev.start("vulnerability")
    ev.at(100)
    ev.hear("stop")
    ev.at(500)
    assert said(ev.hear("no")) == [LINES["keep_going"]]
    assert ev.at(619) == []
    assert said(ev.at(620)) == [LINES["reprompt_first"]]


# ---------------------------------------------------------------- moving around the 36 Questions


def _current(ev) -> str:
    return ev.session.current.text


def _at(ev) -> tuple[int, str]:
    """(question number, whose answer) of the current step."""
    return ev.session.current.item_number, ev.session.current.partner


def test_repeat_says_the_question_again(evening):
    ev = evening()
    ev.start("thirty_six_questions")
    question = _current(ev)
    effects = ev.hear("repeat")
    assert said(effects) == [question]
    assert _current(ev) == question and ev.session.phase == "waiting"


def test_back_goes_to_the_previous_partner_then_the_previous_question(evening):
    ev = evening()
    ev.start("thirty_six_questions")
    assert _at(ev) == (1, "Alex") and _current(ev).startswith("Question 1. Anyone in the world")
    ev.hear("next")
    assert _at(ev) == (1, "Sam") and _current(ev) == "Now Sam."  # the question is read once, then handed over
    effects = ev.hear("back")
    assert said(effects)[0].startswith("Question 1. Anyone in the world") and _at(ev) == (1, "Alex")
    ev.hear("next")
    ev.hear("next")
    assert _at(ev) == (2, "Sam")
    ev.hear("back")
    assert _at(ev) == (1, "Sam")


def test_back_at_the_first_question_stays_there(evening):
    ev = evening()
    ev.start("thirty_six_questions")
    effects = ev.hear("back")
    assert said(effects)[0].startswith("Question 1.") and _at(ev) == (1, "Alex")


def test_skip_moves_to_the_next_question(evening):
    ev = evening()
    ev.start("thirty_six_questions")
    effects = ev.hear("skip")
    assert said(effects) == [_current(ev)]
    assert _at(ev) == (2, "Sam")  # Q1's second partner is skipped too
    assert _current(ev).startswith("Question 2. Do you wish you were famous?") and _current(ev).endswith("Sam first.")
    ev.hear("next")
    ev.hear("skip")
    assert _at(ev) == (3, "Alex")


def test_skip_into_the_next_set_announces_it(evening):
    ev = evening(progress={"thirty_six_questions/questions": 11})
    ev.hear("continue", exercise="thirty_six_questions")
    assert _at(ev)[0] == 12
    effects = ev.hear("skip")
    assert said(effects)[0].startswith("Set two:")
    assert said(effects)[1].startswith("Question 13.")


def test_who_goes_first_alternates_per_question(evening):
    ev = evening()
    ev.start("thirty_six_questions")
    order = []
    for _ in range(8):
        order.append(_at(ev)[1])
        ev.hear("next")
    assert order == ["Alex", "Sam", "Sam", "Alex", "Alex", "Sam", "Sam", "Alex"]


def test_repeat_during_a_turn_keeps_the_timer_running(evening):
    ev = evening()
    ev.start("check_in")
    ev.wait(40)
    effects = ev.hear("repeat")
    assert said(effects) == [_current(ev)]
    assert not any(isinstance(e, (StartTimer, StopTimer, PauseTimer)) for e in effects)
    assert ev.left() == 80.0


# ---------------------------------------------------------------- across sessions


def test_who_goes_first_alternates_across_sessions(evening):
    ev = evening()
    firsts = []
    for _ in range(3):
        ev.start("check_in")
        firsts.append(_current(ev).split(".")[0])
        ev.hear("stop")
    assert firsts == ["Over to you, Alex", "Over to you, Sam", "Over to you, Alex"]
    ev.start("thirty_six_questions")  # the alternation is shared by all exercises
    assert _at(ev) == (1, "Sam")


def test_check_in_questions_rotate_without_repeats(evening, builtin_catalog):
    ev = evening()
    pool = [item.text for item in builtin_catalog.exercises["check_in"].pools["questions"].items]
    asked = []
    for _ in range(len(pool) + 1):
        ev.start("check_in")
        asked.append(next(text for text in pool if text in _current(ev)))
        ev.hear("stop")
    for i in range(len(asked) - 7):
        assert len(set(asked[i : i + 8])) == 8, f"a question came back within 7 sessions: {asked[i : i + 8]}"
    assert all(a != b for a, b in itertools.pairwise(asked))
    assert set(asked) == set(pool)  # all of them come round before any repeats
    assert asked[-1] == asked[0]


def test_rotation_survives_a_restart(evening, builtin_catalog):
    ev = evening()
    ev.start("ten_minute_question")
    first = _current(ev)
    ev.hear("stop")
    again = Evening(builtin_catalog, progress=ev.state.progress)  # a new evening with the saved progress
    again.start("ten_minute_question")
    assert _current(again) != first


def test_continue_resumes_where_they_stopped(evening):
    ev = evening(progress={"thirty_six_questions/questions": 5})
    effects = ev.hear("continue", exercise="thirty_six_questions")
    lines = said(effects)
    assert lines[0] == "Welcome back. You stopped during question six."
    assert lines[1].startswith("Set one:")  # a reminder of the set they are in
    assert lines[2].startswith("Question 6.") and lines[2].endswith("Alex first.")
    assert not any(line.startswith("Welcome, Alex and Sam") for line in lines)


def test_continue_at_a_set_boundary_announces_the_set(evening):
    ev = evening(progress={"thirty_six_questions/questions": 12})
    lines = said(ev.hear("continue"))  # "pick up where we left off": no exercise named
    assert lines[0] == "Welcome back. You stopped during question thirteen."
    assert lines[1].startswith("Set two:")
    assert lines[2].startswith("Question 13.")


def test_continue_with_nothing_saved(evening):
    ev = evening()
    assert said(ev.hear("continue")) == [LINES["nothing_to_continue"]]
    assert ev.session is None
    lines = said(ev.hear("continue", exercise="thirty_six_questions"))
    assert lines[0] == LINES["continue_from_start"]
    assert lines[1].startswith("Welcome, Alex and Sam.")


def test_finishing_the_36_questions_starts_afresh_next_time(evening):
    ev = evening(progress={"thirty_six_questions/questions": 35})
    ev.hear("continue", exercise="thirty_six_questions")
    ev.hear("next")
    effects = ev.hear("next")
    assert said(effects)[-1].startswith("That was the last question.")
    assert SaveProgress("thirty_six_questions/questions", 0) in effects
    assert ended(effects) == [SessionEnded("thirty_six_questions", completed=True)]


# ---------------------------------------------------------------- other commands


def test_topics_in_device_free_talk(evening, builtin_catalog):
    ev = evening()
    ev.start("device_free_talk")
    starters = [item.text for item in builtin_catalog.exercises["device_free_talk"].pools["starters"].items]
    first = ev.hear("topic")
    second = ev.hear("topic")
    assert said(first) == [starters[0]] and said(second) == [starters[1]]
    assert all(e.soft for e in first + second if isinstance(e, Say))
    assert ev.state.progress["device_free_talk/starters"] == 2
    assert ev.left() == 1200.0


def test_topics_elsewhere(evening):
    ev = evening()
    ev.start("check_in")
    assert said(ev.hear("topic")) == [LINES["no_topics"] + " " + TURN_OPTIONS]


def test_commands_with_nothing_running(evening):
    ev = evening()
    for intent in ("next", "pause", "yes", "more_time", "repeat", "topic"):
        effects = ev.hear(intent)
        assert all_chimes(effects) == ["not_understood"] and said(effects) == [LINES["nothing_running"]]
        assert "start our daily check in" in said(effects)[0]  # the hint names what can be said now
    assert ev.session is None
    effects = ev.hear("stop")  # "we're done for tonight" with nothing running: understood, warmly
    assert all_chimes(effects) == ["acknowledged"] and said(effects) == ["Good night, you two."]
    assert said(ev.start("karaoke")) == [LINES["unknown_exercise"]]


def test_yes_and_no_when_nothing_was_asked(evening):
    ev = evening()
    ev.start("appreciation")
    for answer in ("yes", "no"):
        effects = ev.hear(answer)
        assert all_chimes(effects) == ["not_understood"] and said(effects) == [LINES["not_asking"] + " " + PROMPT_OPTIONS]
    assert ev.session is not None


def test_help_names_three_commands_for_the_moment_and_more_gives_the_rest(evening):
    ev = evening()
    effects = ev.hear("help")
    assert effects[0] == Chime("acknowledged")
    assert said(effects) == ["You can say start our daily check in; juniper, what can we do; or juniper, when should we get help."
                             " For more, say juniper, tell us more please."]
    assert said(ev.hear("more")) == ["You can also say continue the thirty six questions."]
    assert said(ev.hear("more")) == [LINES["no_more"]]
    ev.start("check_in")
    ev.wait(5)
    turn_help = said(ev.hear("help"))[0]  # in a turn, commands need the wake name
    assert turn_help.startswith("You can say juniper, that's all from me; juniper, how much time do we have left; or juniper, hold on a moment.")
    assert "give us a topic" not in turn_help + " ".join(said(ev.hear("more")))  # the check-in has no topics to give
    ev.hear("pause")
    assert said(ev.hear("help"))[0].startswith("You can say keep going please, we're done for tonight, or how much time do we have left.")
    assert ev.session.paused  # help does not disturb the exercise
    ev.hear("stop")
    ev.start("thirty_six_questions")
    ev.hear("stop")
    assert said(ev.hear("help")) == ["You can say yes, stop; no, keep going; or when should we get help."]
    assert ev.session.confirming


def test_more_pages_through_help_until_everything_is_said(evening, builtin_catalog):
    ev = evening()
    ev.start("thirty_six_questions")
    pages = [said(ev.hear("help"))[0]]
    while "For more" in pages[-1]:
        pages.append(said(ev.hear("more"))[0])
    assert len(pages) >= 2
    text = " ".join(pages)
    for phrase in ("ready for the next question", "repeat the question", "we're done for tonight", "pass on this one",
                   "go back to the previous question", "hold on a moment", "when should we get help"):
        assert text.count(phrase) == 1, phrase
    assert "give us two more minutes" not in text  # no timer at a question: not offered
    assert said(ev.hear("more")) == [LINES["no_more"]]
    ev.hear("help")
    ev.hear("next")  # anything else in between: "more" has nothing left to continue
    assert said(ev.hear("more")) == [LINES["no_more"]]


def test_info_and_the_list_of_exercises(evening, builtin_catalog):
    ev = evening()
    pages = [page.format(crisis_line="your local emergency number") for page in builtin_catalog.info["when_to_get_help"].pages]
    assert said(ev.hear("info", topic="when_to_get_help")) == [pages[0] + " For more, say juniper, tell us more please."]
    assert said(ev.hear("more")) == [pages[1]]  # an explanation comes in pages, what matters most first
    assert said(ev.hear("more")) == [LINES["no_more"]]
    assert said(ev.hear("info", topic="astrology")) == [LINES["no_info"]]
    listing = said(ev.hear("list_exercises"))[0]
    assert listing.startswith("There are seven exercises: Daily check-in, Thirty-six questions, and Appreciation.")
    assert "For more, say juniper, tell us more please." in listing
    assert listing.endswith("And to hear when to seek support, say juniper, when should we get help.")
    rest = said(ev.hear("more"))[0]
    assert rest == "There is also Vulnerability invitation, Listening turns, and Ten minute question. For more, say juniper, tell us more please."
    assert said(ev.hear("more")) == ["There is also Device-free talk."]
    assert said(ev.hear("more")) == [LINES["no_more"]]


def test_the_crisis_line_is_read_out_where_it_matters(evening, builtin_catalog):
    ev = evening(crisis_line="988, the Suicide and Crisis Lifeline")
    info = said(ev.hear("info", topic="when_to_get_help"))[0]
    assert "please contact 988, the Suicide and Crisis Lifeline right now" in info
    ev.start("vulnerability")
    ev.hear("stop")
    effects = ev.hear("yes")
    assert said(effects)[-1].endswith("If anyone feels unsafe, please contact 988, the Suicide and Crisis Lifeline.")


def test_unknown_intent_is_reported_not_raised(evening):
    ev = evening()
    ev.start("appreciation")
    effects = ev.hear("dance")
    assert effects == [engine.Unhandled("dance")]


# ---------------------------------------------------------------- purity


def test_stale_speech_finished_does_nothing(evening):
    ev = evening(instant=False)
    effects = ev.start("check_in")
    welcome = next(e for e in effects if isinstance(e, Say))
    before = ev.state
    assert ev.send(SpeechFinished(welcome.utterance + 40)) == []
    assert ev.state == before
    effects = ev.send(SpeechFinished(welcome.utterance))
    turn_text = next(e for e in effects if isinstance(e, Say))
    assert turn_text.text.startswith("Over to you, Alex.")
    before = ev.state
    assert ev.send(SpeechFinished(welcome.utterance)) == []  # the same utterance twice: the second is stale
    assert ev.state == before
    assert ev.send(SpeechFinished(turn_text.utterance))[0] == Chime("turn_start")


def test_speech_finished_with_nothing_running(builtin_catalog):
    state = State(builtin_catalog, Settings(partners=PARTNERS))
    assert step(state, SpeechFinished(1), 0.0) == (state, [])
    assert step(state, Tick(), 10.0) == (state, [])


def test_step_is_pure(builtin_catalog):
    state = State(builtin_catalog, Settings(partners=PARTNERS))
    started, effects = step(state, Heard("start", {"exercise": "check_in"}), 5.0)
    again, effects_again = step(state, Heard("start", {"exercise": "check_in"}), 5.0)
    assert (started, effects) == (again, effects_again)
    assert state.session is None and state.progress == {}
    assert started.session is not None and started is not state
    frozen = replace(started)
    step(started, Heard("next"), 6.0)
    assert started == frozen
