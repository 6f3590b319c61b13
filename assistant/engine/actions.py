"""What the commands and events do, one plain function each; table.py says when each one runs.

Every action takes the `Move` of the current step and the event. Guards (`has_timer`, ...) let the
table say "this command does something here only if ..." in one place, so help never offers a
command that would do nothing.
"""

from __future__ import annotations

from dataclasses import replace

from ..plan import PlanRequest, compile_plan, spoken_minutes
from .events import Chime, Event, ExtendTimer, Heard, PauseTimer, SessionStarted, SpeechFinished, StartTimer, StopSpeaking, StopTimer
from .move import Move
from .state import MINUTE_CUE_MIN_TOTAL_S, NEXT_FIRST, Session, Timer

# ---------------------------------------------------------------- guards


def has_timer(m: Move) -> bool:
    return m.session.timer is not None


def has_topics(m: Move) -> bool:
    return m.exercise.topic_pool is not None


# ---------------------------------------------------------------- starting


def begin(m: Move, event: Event) -> None:
    """start / continue: build tonight's plan and say its first step."""
    assert isinstance(event, Heard)
    catalog, progress = m.state.catalog, m.state.progress
    exercise_id = str(event.slots.get("exercise", ""))
    if not exercise_id:
        exercise_id = next((e for e in catalog.order if any(m.saved_place(catalog.exercises[e]))), "")
        if not exercise_id:
            m.line("nothing_to_continue")
            return
    exercise = catalog.exercises.get(exercise_id)
    if exercise is None:
        m.line("unknown_exercise")
        return
    position, pending = m.saved_place(exercise)
    resuming = position > 0 or pending > 0
    partners = m.state.settings.partners
    first = (pending - 1) % 2 if pending else progress.get(NEXT_FIRST, 0) % 2  # who has not answered yet opens
    order = partners if first == 0 else (partners[1], partners[0])
    pool_keys = {exercise.pool_key(name) for name in exercise.pools}
    cursors = {k: v for k, v in progress.items() if k in pool_keys}
    minutes = event.slots.get("minutes")
    request = PlanRequest(exercise, order, cursors, position, float(minutes) if minutes else None, m.phrases.wake,
                          first_time=not progress.get(exercise.intro_key), resuming=resuming, pending=pending > 0)
    plan, new_cursors = compile_plan(request)
    m.effects.append(SessionStarted(exercise.id))
    m.update(session=Session(exercise.id, plan, section_since=m.now))
    for key, value in new_cursors.items():
        m.save(key, value)
    m.save(NEXT_FIRST, 1 - first)
    m.save(exercise.intro_key, 1)
    if event.intent == "continue" and not resuming and exercise.resumable:
        m.line("continue_from_start")
    m.enter(0)


# ---------------------------------------------------------------- moving through the plan


def go_next(m: Move, event: Event) -> None:
    m.move_to(m.session.index + 1)


def skip(m: Move, event: Event) -> None:
    """Past this item for both partners, or (`skip: turn`) only past this partner's turn."""
    plan, index = m.session.plan, m.session.index
    if m.exercise.skip == "turn":
        m.move_to(index + 1)
        return
    m.move_to(next((i for i in range(index + 1, len(plan)) if plan[i].group != plan[index].group), len(plan)))


def back(m: Move, event: Event) -> None:
    plan, index = m.session.plan, m.session.index
    earlier = [i for i in range(index) if plan[i].kind != "say"]
    m.move_to(earlier[-1] if earlier else index)


def repeat(m: Move, event: Event) -> None:
    session = m.session
    if session.phase == "timing":
        m.say(session.current.text)  # the timer keeps running
        return
    m.effects.append(StopSpeaking())
    m.set(advance_on=None)
    m.enter(session.index)


def speech_finished(m: Move, event: Event) -> None:
    assert isinstance(event, SpeechFinished)
    m.speech_finished(event.utterance)


# ---------------------------------------------------------------- pausing and the timer


def pause(m: Move, event: Event) -> None:
    session = m.session
    if session.advance_on is not None:
        m.effects.append(StopSpeaking())
    if session.timer is not None:
        left = session.timer.left(m.now)
        m.set(timer=replace(session.timer, deadline=None, left_when_paused=left))
        m.effects.append(PauseTimer(left))
    m.set(paused=True, advance_on=None, reprompt_at=None)
    m.line("paused")


def resume(m: Move, event: Event) -> None:
    session = m.session
    m.set(paused=False)
    if session.phase == "timing" and session.timer is not None:
        _restart_timer(m, session.timer)
        m.line("resumed")
    elif session.phase == "waiting":
        m.set(reprompt_at=m.now + m.state.settings.first_reprompt_s)
        m.line("resumed")
    else:
        m.enter(session.index)  # it was cut off mid-sentence: say it again


def _restart_timer(m: Move, timer: Timer) -> None:
    left = timer.left_when_paused
    m.set(timer=replace(timer, deadline=m.now + left))
    m.effects.append(StartTimer(timer.total_s, left))


def more_time(m: Move, event: Event) -> None:
    assert isinstance(event, Heard)
    timer = m.session.timer
    assert timer is not None
    added = int(event.slots.get("minutes", m.state.settings.more_time_minutes)) * 60.0
    if timer.deadline is None:
        longer = replace(timer, left_when_paused=timer.left_when_paused + added)
    else:
        longer = replace(timer, deadline=timer.deadline + added)
    cued = timer.cued and longer.left(m.now) <= 60
    m.set(timer=replace(longer, total_s=timer.total_s + added, cued=cued))
    m.effects.append(ExtendTimer(added))
    m.line("more_time_added", soft=True, duration=spoken_minutes(added / 60))


def time_left(m: Move, event: Event) -> None:
    timer = m.session.timer
    assert timer is not None
    left = timer.left(m.now)
    if left >= 90:
        m.line("time_left_minutes", soft=True, minutes=spoken_minutes(min(99, int(left / 60 + 0.5))))
    elif left >= 55:
        m.line("time_left_minute", soft=True)
    elif left >= 20:
        m.line("time_left_under_a_minute", soft=True)
    else:
        m.line("time_left_seconds", soft=True)


def tick_timer(m: Move, event: Event) -> None:
    timer = m.session.timer
    if timer is None:
        return
    left = timer.left(m.now)
    if left <= 0:
        m.effects += [Chime("turn_end"), StopTimer()]
        m.enter(m.session.index + 1)
        return
    cue_due = m.session.current.minute_left_cue and timer.total_s >= MINUTE_CUE_MIN_TOTAL_S
    if cue_due and not timer.cued and left <= 60:
        m.set(timer=replace(timer, cued=True))
        m.effects.append(Chime("minute_left"))
        m.line("minute_left", soft=True)


# ---------------------------------------------------------------- silence


def reprompt_if_due(m: Move, event: Event) -> None:
    session = m.session
    if session.reprompt_at is None or m.now < session.reprompt_at:
        return
    count = session.reprompts + 1
    follow_up = m.now + m.state.settings.second_reprompt_s if count == 1 else None
    m.set(reprompts=count, reprompt_at=follow_up)
    m.line("reprompt_first" if count == 1 else "reprompt_second", soft=True)


def postpone_reprompt(m: Move, event: Event) -> None:
    session = m.session
    if session.reprompt_at is not None:
        settings = m.state.settings
        delay = settings.first_reprompt_s if session.reprompts == 0 else settings.second_reprompt_s
        m.set(reprompt_at=max(session.reprompt_at, m.now + delay))


# ---------------------------------------------------------------- stopping


def ask_stop(m: Move, event: Event) -> None:
    """Short exercises stop at once; long ones ask first, with the timer held."""
    if not m.exercise.confirm_stop:
        m.end_early()
        return
    session = m.session
    if session.advance_on is not None:
        m.effects.append(StopSpeaking())
    if session.timer is not None and not session.paused:
        left = session.timer.left(m.now)
        m.set(timer=replace(session.timer, deadline=None, left_when_paused=left))
        m.effects.append(PauseTimer(left))
    m.set(confirming=True, reprompt_at=None, advance_on=None)  # the cut-off words must not move the plan on
    m.line("confirm_stop")


def end_early(m: Move, event: Event) -> None:
    m.end_early()


def cancel_stop(m: Move, event: Event) -> None:
    session = m.session
    m.set(confirming=False)
    if session.phase == "timing" and session.timer is not None and not session.paused:
        _restart_timer(m, session.timer)
        m.line("keep_going", soft=True)
    elif session.phase == "speaking":
        m.line("keep_going")
        m.set(advance_on=None)
        m.enter(session.index)
    else:
        m.set(reprompt_at=m.now + m.state.settings.first_reprompt_s)
        m.line("keep_going")


# ---------------------------------------------------------------- talk


def topic(m: Move, event: Event) -> None:
    exercise = m.exercise
    assert exercise.topic_pool is not None
    pool = exercise.pools[exercise.topic_pool]
    key = exercise.pool_key(pool.name)
    cursor = m.state.progress.get(key, 0) % len(pool.items)
    m.save(key, (cursor + 1) % len(pool.items))
    m.say(pool.items[cursor].text, soft=m.session.phase == "timing")
