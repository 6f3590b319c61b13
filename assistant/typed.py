"""Typed input: `hearth --text`, where lines typed (or piped) are the commands.

Typing is always addressed, so no wake name is needed. A script line `:wait SECONDS` lets time pass
(instantly on a fake clock), so a script can run a timed exercise end to end; on a fake clock
speech takes no time either: each line waits until what was said before it has been spoken. Lines
are read on a thread of their own, so timers keep ticking while nobody types; waiting for the next
line is never a busy loop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable

from .clock import FakeClock
from .runtime import Runtime

MAX_WAIT_S = 24 * 3600.0  # `:wait` in a text script: a day at most (inf would never end)
TICK_S = 0.2


class TypedLines:
    """An Input (runtime.py) of typed lines: stdin in text mode, a list in tests."""

    def __init__(self, lines: Iterable[str], tick_s: float = TICK_S) -> None:
        self.lines = lines
        self.tick_s = tick_s
        self.source: queue.Queue[str | None] = queue.Queue()
        self.fake = False

    def begin(self, runtime: Runtime) -> None:
        self.fake = isinstance(runtime.clock, FakeClock)
        runtime.speech_takes_no_time = runtime.speech_takes_no_time or self.fake
        threading.Thread(target=self._read, name="hearth-typed", daemon=True).start()

    def _read(self) -> None:
        for line in self.lines:
            self.source.put(line)
        self.source.put(None)

    def step(self, runtime: Runtime) -> bool:
        try:
            line = self.source.get(timeout=self.tick_s)  # returns at once when a line is ready
        except queue.Empty:
            return True
        if line is None:
            return False
        self.line(runtime, line.strip())
        return True

    def end(self, runtime: Runtime) -> None:
        """Typed input holds nothing back."""

    def close(self) -> None:
        """The reading thread ends with its input."""

    def line(self, runtime: Runtime, line: str) -> None:
        if not line or line.startswith("#"):
            return
        if line.startswith(":wait"):
            self.wait(runtime, line)
            return
        runtime.print(f"> {line}")
        typed(runtime, line)

    def wait(self, runtime: Runtime, line: str) -> None:
        words = line.split()
        try:
            seconds = float(words[1]) if len(words) > 1 else 1.0
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= MAX_WAIT_S:
            runtime.print(f"(':wait' takes a number of seconds from 0 to {MAX_WAIT_S:.0f}, like ':wait 120')")
            return
        clock = runtime.clock
        end = clock.now() + seconds
        while clock.now() < end:
            clock.sleep(min(1.0, end - clock.now()) if self.fake else self.tick_s)
            runtime.tick()


def typed(runtime: Runtime, line: str) -> None:
    """One typed command, matched in the live context (typing is always addressed)."""
    match = runtime.intents.match(line, runtime.context)
    if match is None:
        other = runtime.intents.match(line, "any")  # a command, but not one live now: "next question" with nothing running
        if other is None:
            ask = runtime.catalog.phrases.help.get("help", "help")
            runtime.print(f"(not understood here: say '{ask}' for the commands)")
            return
        runtime.not_live(other.intent)
        return
    runtime.heard(match.intent, dict(match.slots))


def run_text(runtime: Runtime, lines: Iterable[str]) -> None:
    """A whole text session from `lines` (the caller closes the runtime)."""
    runtime.run(TypedLines(lines))
