"""Time as an input: the real clock, and a fake one that moves only when told to.

Deadlines (turn timers, silence re-prompts) live in the engine's state and are compared with the
clock's `now()`, so a fake clock lets tests and rehearsals run whole evenings in milliseconds. In a
session driven by a recording on a fake clock, the recording moves it: time is audio time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds: what deadlines are measured in."""

    def wall(self) -> datetime:
        """Local date and time, for history and rotation."""

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class FakeClock:
    """Time that only moves when told to: whole evenings in milliseconds, in tests and `--fake-clock`."""

    t: float = 0.0
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 1, 19, 0))

    def now(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def sleep(self, seconds: float) -> None:
        self.t += seconds
