"""Long streams of room audio with commands (or talk) in them, and scoring what hearth heard.

A stream is what a microphone on the dinner table delivers: a few seconds of the room first (so
the segmenter has heard the background before anyone speaks), then item after item with pauses
between them, and the noise running through everything, gaps included. Each item is either a
command (with the intent and slots hearth should act on) or talk (where it should act on nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .material import FLOOR_DBFS, RATE, Audio, active_power, babble, to_int16

Expect = tuple[str, tuple[tuple[str, str], ...]] | None  # (intent, sorted slots) or None for talk


@dataclass(frozen=True)
class Item:
    audio: Audio  # at speaking level, trimmed
    expect: Expect
    tag: str  # what it is, for the tables (voice, phrase, file)


@dataclass(frozen=True)
class Stream:
    audio: Audio
    spans: tuple[tuple[float, float], ...]  # where each item's speech is
    items: tuple[Item, ...]
    condition: str


def build(items: Sequence[Item], condition: str, seed: int, gap_s: tuple[float, float] = (1.6, 3.0), lead_s: float = 3.0) -> Stream:
    """Items in a row with pauses; `condition` is 'clean' or 'babbleN' (N dB below each item's
    speech power, measured over the item's active speech)."""
    rng = np.random.default_rng(seed)
    parts: list[Audio] = [np.zeros(int(lead_s * RATE), dtype=np.float32)]
    spans: list[tuple[float, float]] = []
    at = parts[0].size
    powers = []
    for item in items:
        spans.append((at / RATE, (at + item.audio.size) / RATE))
        parts.append(item.audio)
        powers.append(active_power(item.audio))
        pause = np.zeros(int(rng.uniform(*gap_s) * RATE), dtype=np.float32)
        parts.append(pause)
        at += item.audio.size + pause.size
    audio = np.concatenate(parts)
    if condition.startswith("babble"):
        snr = float(condition[len("babble"):])
        noise = babble(audio.size, rng)
        audio = audio + noise * np.float32(np.sqrt(float(np.mean(powers)) / 10 ** (snr / 10)))
    audio = audio + rng.normal(0.0, 10 ** (FLOOR_DBFS / 20), audio.size).astype(np.float32)
    return Stream(audio.astype(np.float32), tuple(spans), tuple(items), condition)


@dataclass
class Outcome:
    """One item's fate: right (exactly one detection, right intent and slots), wrong or missed."""

    item: Item
    verdict: str
    heard: list[str] = field(default_factory=list)
    latency_s: float | None = None  # decision time after the item's speech ended (right ones)


@dataclass
class Score:
    outcomes: list[Outcome]
    false_activations: list[str]  # detections on talk items or in the pauses
    audio_s: float


def item_of(stream: Stream, start_s: float, end_s: float) -> int | None:
    """The item a detection (or segment) from start_s to end_s belongs to: the one it overlaps
    most, its span widened by 0.3 s on each side; None when it overlaps none (a stray)."""
    best, index = 0.0, None
    for i, (start, end) in enumerate(stream.spans):
        overlap = min(end + 0.3, end_s) - max(start - 0.3, start_s)
        if overlap > best:
            best, index = overlap, i
    return index


def score(stream: Stream, detections: Sequence[object], expect_of: Callable[[object], Expect]) -> Score:
    """Assign each detection to the item it overlaps most (item_of)."""
    assigned: list[list[object]] = [[] for _ in stream.items]
    stray: list[str] = []
    for detection in detections:
        index = item_of(stream, detection.start_s, detection.end_s)  # type: ignore[attr-defined]
        if index is None:
            stray.append(_label(expect_of(detection)))
        else:
            assigned[index].append(detection)
    outcomes = []
    false = list(stray)
    for item, found, (start, end) in zip(stream.items, assigned, stream.spans):
        heard = [_label(expect_of(d)) for d in found]
        if item.expect is None:
            false.extend(heard)
            outcomes.append(Outcome(item, "right" if not found else "wrong", heard))
        elif not found:
            outcomes.append(Outcome(item, "missed"))
        elif len(found) == 1 and expect_of(found[0]) == item.expect:
            outcomes.append(Outcome(item, "right", heard, found[0].decided_s - end))  # type: ignore[attr-defined]
        else:
            outcomes.append(Outcome(item, "wrong", heard))
    return Score(outcomes, false, stream.audio.size / RATE)


def _label(expect: Expect) -> str:
    if expect is None:
        return "?"
    intent, slots = expect
    return intent + ("" if not slots else " {" + ", ".join(f"{k}={v}" for k, v in slots) + "}")


def as_pcm(stream: Stream) -> bytes:
    return to_int16(stream.audio).tobytes()
