"""The built-in content, and how an exercise unrolls into a plan."""

from __future__ import annotations

import re

import pytest

from assistant.plan import PlanRequest, compile_plan, spoken_minutes
from stable_names import EXERCISE_IDS as IDS

PARTNERS = ("Alex", "Sam")


def plan_of(catalog, exercise_id, cursors=None, start_at=0, minutes=None, partners=PARTNERS, wake="hearth"):
    exercise = catalog.exercises[exercise_id]
    return compile_plan(PlanRequest(exercise, partners, cursors or {}, start_at, minutes, wake))


# ---------------------------------------------------------------- content sanity


def test_the_seven_exercises(builtin_catalog):
    assert set(builtin_catalog.exercises) == IDS
    for exercise in builtin_catalog.exercises.values():
        assert exercise.title.strip() and exercise.summary.strip()
        assert exercise.source.endswith(".yaml")


def test_every_exercise_can_be_started_by_voice(builtin_intents):
    spoken_ids = {str(value.value) for value in builtin_intents.lists["exercise"].values}
    assert spoken_ids == IDS


def test_check_in_pool(builtin_catalog):
    check_in = builtin_catalog.exercises["check_in"]
    assert len(check_in.pools["questions"].items) >= 20
    assert check_in.pools["questions"].order == "rotate"
    assert not check_in.confirm_stop


def test_thirty_six_questions_are_three_sets_of_twelve_in_order(builtin_catalog):
    exercise = builtin_catalog.exercises["thirty_six_questions"]
    pool = exercise.pools["questions"]
    assert pool.order == "sequence"
    assert len(pool.sections) == 3
    assert [s.split(":")[0] for s in pool.sections] == ["Set one", "Set two", "Set three"]
    assert len(pool.items) == 36
    assert [item.section for item in pool.items] == [0] * 12 + [1] * 12 + [2] * 12
    assert len({item.text for item in pool.items}) == 36
    assert pool.items[0].text.startswith("Anyone in the world could join you for dinner")
    assert exercise.resumable and exercise.confirm_stop and exercise.sequence_pool is pool
    assert "{number}" in exercise.resume_say


def test_vulnerability_stems(builtin_catalog):
    stems = builtin_catalog.exercises["vulnerability"].pools["stems"].items
    assert len(stems) >= 12
    assert all(stem.text.endswith("...") for stem in stems)


def test_ten_minute_question_pool(builtin_catalog):
    assert len(builtin_catalog.exercises["ten_minute_question"].pools["questions"].items) >= 20


def test_device_free_talk_has_a_topic_pool(builtin_catalog):
    exercise = builtin_catalog.exercises["device_free_talk"]
    assert exercise.topic_pool is not None
    assert len(exercise.pools[exercise.topic_pool].items) >= 10
    others = [e.id for e in builtin_catalog.exercises.values() if e.topic_pool is not None]
    assert others == ["device_free_talk"]


def test_pool_items_are_unique(builtin_catalog):
    for exercise in builtin_catalog.exercises.values():
        for pool in exercise.pools.values():
            texts = [item.text for item in pool.items]
            assert len(texts) == len(set(texts)), f"{exercise.id}/{pool.name} repeats an item"


def test_info_topics(builtin_catalog):
    assert {"bids_for_connection", "when_to_get_help"} <= set(builtin_catalog.info)
    assert "Gottman" in builtin_catalog.info["bids_for_connection"].text
    assert "turn toward" in builtin_catalog.info["bids_for_connection"].text


def test_when_to_get_help_points_to_therapy_and_does_not_diagnose(builtin_catalog):
    text = builtin_catalog.info["when_to_get_help"].text
    assert "Emotionally Focused Therapy" in text
    assert "does not diagnose" in text
    lower = text.lower()
    for forbidden in ("you have", "you are depressed", "you're depressed", "you suffer", "you are suffering",
                      "your relationship is", "you are codependent", "diagnosis of", "disorder"):
        assert forbidden not in lower, forbidden
    assert "emergency" in lower  # safety: where to turn when someone feels unsafe


# ---------------------------------------------------------------- plans


def test_check_in_plan(builtin_catalog):
    plan, cursors = plan_of(builtin_catalog, "check_in")
    assert [step.kind for step in plan] == ["say", "turn", "turn", "say"]
    assert plan[0].text.startswith("Welcome, Alex and Sam.")
    first_question = builtin_catalog.exercises["check_in"].pools["questions"].items[0].text
    assert plan[1].text == f"Over to you, Alex. {first_question} Sam, just listen for now."
    assert plan[2].text == f"Now Sam, the same question. {first_question}"  # the second turn is handed over
    assert [plan[1].seconds, plan[2].seconds] == [120, 120]
    assert [plan[1].partner, plan[2].partner] == ["Alex", "Sam"]
    assert len({step.group for step in plan}) == 4
    assert cursors == {"check_in/questions": 1}


def test_rotation_wraps_around(builtin_catalog):
    items = builtin_catalog.exercises["check_in"].pools["questions"].items
    last = len(items) - 1
    plan, cursors = plan_of(builtin_catalog, "check_in", {"check_in/questions": last})
    assert items[last].text in plan[1].text
    assert cursors == {"check_in/questions": 0}
    plan, cursors = plan_of(builtin_catalog, "vulnerability", {"vulnerability/stems": 16})
    stems = builtin_catalog.exercises["vulnerability"].pools["stems"].items
    prompts = [step for step in plan if step.kind == "prompt" and step.item]
    assert stems[16].text in prompts[0].text and stems[0].text in prompts[2].text
    # alternation follows tonight's order, also across the wrap (pool index 16, then 0)
    assert [p.partner for p in prompts] == ["Alex", "Sam", "Sam", "Alex"]
    assert cursors == {"vulnerability/stems": 1}


def test_partner_order_is_the_given_order(builtin_catalog):
    plan, _ = plan_of(builtin_catalog, "check_in", partners=("Sam", "Alex"))
    assert plan[0].text.startswith("Welcome, Sam and Alex.")
    assert plan[1].text.startswith("Over to you, Sam.") and "Alex, just listen" in plan[1].text


def test_thirty_six_questions_plan(builtin_catalog):
    plan, cursors = plan_of(builtin_catalog, "thirty_six_questions")
    answers = [step for step in plan if step.item_number]
    # every question is answered by both, except item 22: one joint answer, the partners alternating
    assert [step.item_number for step in answers] == [n for n in range(1, 37) for _ in ((0,) if n == 22 else (0, 1))]
    assert all(step.item_total == 36 for step in answers)
    assert [step.position for step in answers] == [step.item_number - 1 for step in answers]
    firsts = [step.partner for step in answers if step.turn_in_item == 0]
    assert firsts == ["Alex", "Sam"] * 18  # who goes first alternates from question to question
    first, second = answers[0], answers[1]
    assert first.text == "Question 1. Anyone in the world could join you for dinner. Who would you invite? Alex first."
    assert second.text == "Now Sam." and second.partner == "Sam" and second.turn_in_item == 1  # read once, handed over
    sections = [i for i, step in enumerate(plan) if step.text.startswith("Set ")]
    assert [plan[i].text.split(":")[0] for i in sections] == ["Set one", "Set two", "Set three"]
    assert [plan[i + 1].item_number for i in sections] == [1, 13, 25]
    assert plan[-1].text.startswith("That was the last question.")
    # both partners' answers to one question are one group: "skip" moves to the next question
    assert answers[0].group == answers[1].group != answers[2].group
    assert cursors == {}


def test_thirty_six_questions_item_eleven_is_a_timed_four_minute_turn_each(builtin_catalog):
    plan, _ = plan_of(builtin_catalog, "thirty_six_questions")
    life_story = [step for step in plan if step.item_number == 11]
    assert [(step.kind, step.seconds, step.partner) for step in life_story] == [("turn", 240, "Alex"), ("turn", 240, "Sam")]
    assert life_story[0].text.startswith("Question 11. Take four minutes each to walk your partner through the story of your life")
    assert life_story[0].minute_left_cue
    assert life_story[1].text == "Now Sam."


def test_thirty_six_questions_item_twenty_two_is_one_joint_item(builtin_catalog):
    plan, _ = plan_of(builtin_catalog, "thirty_six_questions")
    (joint,) = [step for step in plan if step.item_number == 22]
    assert joint.kind == "prompt"
    assert joint.text.startswith("Question 22. Take turns naming a good quality you see in your partner")
    assert "five in all" in joint.text and joint.text.endswith(f"{joint.partner}, you begin.")


def test_thirty_six_questions_item_twenty_seven_is_for_a_couple_who_know_each_other(builtin_catalog):
    item = builtin_catalog.exercises["thirty_six_questions"].pools["questions"].items[26].text
    assert "already know each other" in item and "become close friends" not in item


def test_thirty_six_questions_from_a_saved_position(builtin_catalog):
    plan, _ = plan_of(builtin_catalog, "thirty_six_questions", start_at=12)
    answers = [step for step in plan if step.item_number]
    assert len(answers) == 47  # 24 questions, one of them joint
    assert answers[0].item_number == 13 and answers[0].position == 12
    resumed_odd, _ = plan_of(builtin_catalog, "thirty_six_questions", start_at=3)
    firsts = [step.partner for step in resumed_odd if step.item_number and step.turn_in_item == 0][:3]
    assert firsts == ["Alex", "Sam", "Alex"]  # this evening's first partner opens the first question
    texts = [step.text for step in plan]
    assert not any(text.startswith("Set one") for text in texts)
    assert any(text.startswith("Set two") for text in texts)


def test_resuming_with_one_answer_given_continues_with_the_other_partner(builtin_catalog):
    exercise = builtin_catalog.exercises["thirty_six_questions"]
    plan, _ = compile_plan(PlanRequest(exercise, ("Sam", "Alex"), {}, start_at=1, resuming=True, pending=True))
    assert plan[0].text == "Welcome back. You stopped during question two."
    assert plan[1].text.startswith("Set one:")
    assert plan[2].item_number == 2 and plan[2].partner == "Sam"
    assert plan[2].text == "Question 2. Do you wish you were famous? What kind of fame would you want? Sam, it's your turn."
    assert plan[3].item_number == 3 and plan[3].partner == "Alex" and plan[3].text.endswith("Alex first.")


def test_a_section_note_rides_on_each_answer_of_the_36_questions(builtin_catalog):
    plan, _ = plan_of(builtin_catalog, "thirty_six_questions")
    answers = [step for step in plan if step.item_number]
    assert all(step.note_after_s == 900 and "about fifteen minutes on this set" in step.note for step in answers)
    assert not any(step.note for step in plan if not step.item_number)


def test_vulnerability_takes_two_stems_and_alternates(builtin_catalog):
    plan, cursors = plan_of(builtin_catalog, "vulnerability", {"vulnerability/stems": 3})
    prompts = [step.text for step in plan if step.kind == "prompt"]
    stems = builtin_catalog.exercises["vulnerability"].pools["stems"].items
    assert prompts == [
        f"Alex, please finish this sentence. {stems[3].text}",
        f"Now Sam, the same sentence. {stems[3].text}",
        f"Sam, please finish this sentence. {stems[4].text}",
        f"Now Alex, the same sentence. {stems[4].text}",
        "Before we finish: how are you both feeling, right now? A word or two each is enough. Then say that's all from me.",
    ]
    assert cursors == {"vulnerability/stems": 5}


def test_adjustable_turn_length(builtin_catalog):
    default, _ = plan_of(builtin_catalog, "listening_turns")
    assert [step.seconds for step in default if step.kind == "turn"] == [180, 60, 180, 60]
    longer, _ = plan_of(builtin_catalog, "listening_turns", minutes=5)
    turns = [step for step in longer if step.kind == "turn"]
    assert [step.seconds for step in turns] == [300, 60, 300, 60]  # only the adjustable speaker turns change
    assert "for five minutes" in turns[0].text
    assert [step.minute_left_cue for step in turns] == [True, False, True, False]
    unchanged, _ = plan_of(builtin_catalog, "check_in", minutes=5)
    assert [step.seconds for step in unchanged if step.kind == "turn"] == [120, 120]


def test_wake_placeholder_teaches_the_addressed_form(builtin_catalog):
    plan, _ = plan_of(builtin_catalog, "check_in", wake="juniper")
    assert "say juniper, that's all from me" in plan[0].text
    assert "{" not in "".join(step.text for step in plan)


@pytest.mark.parametrize("exercise_id", sorted(IDS))
def test_every_plan_is_fully_formatted(builtin_catalog, exercise_id):
    plan, _ = plan_of(builtin_catalog, exercise_id)
    assert plan[0].kind == "say" and plan[-1].kind == "say"
    for step in plan:
        assert not re.search(r"[{}]", step.text), step.text
        assert step.text == " ".join(step.text.split())
    assert "Alex" in plan[0].text and "Sam" in plan[0].text


def test_spoken_minutes():
    assert spoken_minutes(1) == "one minute"
    assert spoken_minutes(2) == "two minutes"
    assert spoken_minutes(20) == "twenty minutes"
    assert spoken_minutes(0.5) == "thirty seconds"
