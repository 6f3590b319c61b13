"""Driving the pure engine through whole evenings in tests: an instant speaker and a fake clock."""

from __future__ import annotations

import re

import pytest

from assistant.engine import Chime, Heard, Say, Settings, SpeechFinished, State, Tick, context, step
from assistant.exercises import load_catalog

PARTNERS = ("Alex", "Sam")
RETURNING = {f"{e}/introduced": 1 for e in ("check_in", "thirty_six_questions", "appreciation", "vulnerability",
                                           "listening_turns", "ten_minute_question", "device_free_talk")}


class Evening:
    """Drives the engine like the app does with an instant speaker: every Say finishes at once
    (unless `instant=False`), and time only moves when `wait` is called."""

    def __init__(self, catalog, progress=None, instant=True, **settings):
        self.state = State(catalog, Settings(partners=PARTNERS, **settings), dict(progress or {}))
        self.now = 0.0
        self.instant = instant
        self.log: list = []

    def send(self, event) -> list:
        effects: list = []
        pending = [event]
        while pending:
            current = pending.pop(0)
            self.state, out = step(self.state, current, self.now)
            effects += out
            if self.instant:
                pending += [SpeechFinished(e.utterance) for e in out if isinstance(e, Say)]
        self.log += effects
        return effects

    def hear(self, intent, **slots) -> list:
        return self.send(Heard(intent, slots))

    def start(self, exercise, **slots) -> list:
        return self.hear("start", exercise=exercise, **slots)

    def wait(self, seconds, tick=1.0) -> list:
        effects = []
        end = self.now + seconds
        while self.now < end - 1e-9:
            self.now = min(end, self.now + tick)
            effects += self.send(Tick())
        return effects

    def at(self, when) -> list:
        """One tick at an exact time."""
        assert when >= self.now
        self.now = when
        return self.send(Tick())

    @property
    def session(self):
        return self.state.session

    @property
    def context(self):
        return context(self.state)

    def left(self):
        return self.session.timer.left(self.now)


def said(effects) -> list[str]:
    return [e.text for e in effects if isinstance(e, Say)]


def chimes(effects) -> list[str]:
    """The chimes that mark turns (acknowledgements are tested on their own)."""
    return [e.kind for e in effects if isinstance(e, Chime) and e.kind not in ("acknowledged", "not_understood")]


def all_chimes(effects) -> list[str]:
    return [e.kind for e in effects if isinstance(e, Chime)]


def _spoken_lines() -> dict[str, str]:
    """The engine's lines as spoken (wake name and default crisis line filled in) where they need nothing else."""
    lines = load_catalog().lines
    crisis = lines["default_crisis_line"]
    return {name: text.format(wake="juniper", crisis_line=crisis) for name, text in lines.text.items()
            if not set(re.findall(r"{(\w+)}", text)) - {"wake", "crisis_line"}}


LINES = _spoken_lines()




@pytest.fixture
def evening(builtin_catalog):
    """`evening(progress=..., **settings)` makes an Evening on the built-in content."""

    def make(**kwargs):
        return Evening(builtin_catalog, **kwargs)

    return make
