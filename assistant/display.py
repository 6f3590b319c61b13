"""A one-line live status for the terminal: exercise, question, whose turn, countdown, listening.

`status_line` is pure (state and time in, text out) so it is tested without a terminal. On a real
terminal `StatusDisplay` redraws one line in place below the printed prompts; when stdout is not a
terminal (piped, logged) it stays silent and the plain `hearth: ...` lines are the whole record.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .engine import State

BAR_WIDTH = 20


def status_line(state: State, now: float, level_dbfs: float | None = None, width: int = 100) -> str:
    """E.g. `Thirty-six questions | question 14 of 36, set 2 | Alex | [#####.....] 1:23 | mic ▂▄`."""
    parts: list[str] = []
    session = state.session
    if session is None:
        start = state.catalog.phrases.help.get("start")
        parts.append(f'waiting: say "{start}"' if start else "waiting")
    else:
        exercise = state.catalog.exercises[session.exercise]
        parts.append(exercise.title)
        current = session.current
        if current.item_number:
            where = f"question {current.item_number} of {current.item_total}"
            parts.append(where + (f", set {current.section}" if current.section else ""))
        if current.partner:
            parts.append(f"{current.partner}'s turn")
        if session.timer is not None:
            left = session.timer.left(now)
            done = 1.0 - left / session.timer.total_s if session.timer.total_s else 1.0
            filled = int(round(BAR_WIDTH * min(1.0, max(0.0, done))))
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            paused = " paused" if session.paused or session.confirming else ""
            parts.append(f"[{bar}] {int(left) // 60}:{int(left) % 60:02d}{paused}")
        elif session.paused:
            parts.append("paused")
    if level_dbfs is not None:
        parts.append("mic " + level_meter(level_dbfs))
    return " | ".join(parts)[:width]


def level_meter(dbfs: float) -> str:
    """Five steps from -60 dBFS (silent) to -10 dBFS (loud)."""
    steps = max(0, min(5, int((dbfs + 60) / 10)))
    return "▁▂▃▄▅"[:steps].ljust(5, " ")


class StatusDisplay:
    """Redraws the status line on a terminal; does nothing when output is not one."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.live = out.isatty()
        self.last = ""

    def show(self, text: str) -> None:
        if self.live and text != self.last:
            self.out.write("\r\x1b[2K" + text)
            self.out.flush()
            self.last = text

    def before_print(self) -> None:
        """Clear the status line so a printed prompt does not land inside it."""
        if self.live and self.last:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self.last = ""
