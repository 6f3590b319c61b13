"""The stages of the recognition benchmark, each a list of (name, context, stream) jobs and a way
to read their results. Every stream goes through a real `hearth listen` process (runner.py)."""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import hearth_material as hm
from .material import HELDOUT_VOICES, TUNE_VOICES, Voice, available, coffee_orders, librispeech, read_16k, speech_dir, trim
from .runner import Run, expect_of, listen
from .streams import Item, Score, Stream, build, score

CONDITIONS = ("clean", "babble10")
CHUNK = 25  # items per stream: long enough for the noise floor to settle, short enough to fail alone


@dataclass
class Job:
    stage: str
    group: str  # the row it is reported in (a voice family, a half, a source)
    context: str
    condition: str
    stream: Stream
    intents: Path | None = None


@dataclass
class Result:
    job: Job
    score: Score
    run: Run


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def seed_of(*parts: object) -> int:
    """The same seed in every process and run (Python's own hash() is salted per process)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


def chunks(items: Sequence[Item], size: int = CHUNK) -> list[list[Item]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def coffee_jobs(plan: Plan, pack: Path, quick: bool, held_out_only: bool = False) -> None:
    for half in ("heldout",) if quick or held_out_only else ("tune", "heldout"):
        orders = coffee_orders(half)[: 2 if quick else None]
        items = [Item(trim(read_16k(o.path), 30.0), (o.intent, o.slots), o.path.name) for o in orders]
        for condition in CONDITIONS:
            for n, part in enumerate(chunks(items)):
                plan.jobs.append(Job("coffee", half, "any", condition, build(part, condition, seed=seed_of(half, condition, n)), pack))


HELD_OUT = "held-out voices (flite, Piper, other espeak-ng)"


def voices(quick: bool, held_out_only: bool = False) -> dict[str, tuple[Voice, ...]]:
    tune, held = available(TUNE_VOICES), available(HELDOUT_VOICES)
    if quick:
        return {HELD_OUT: held[:1]}
    if held_out_only:
        return {HELD_OUT: held}
    return {"tuning voices (espeak-ng)": tune, HELD_OUT: held}


def phrase_jobs(plan: Plan, stage: str, phrases: list[hm.Phrase], quick: bool, held_out_only: bool = False) -> None:
    for group, family in voices(quick, held_out_only).items():
        for context in ("prompt",) if quick else ("idle", "prompt", "turn"):
            mine = [p for p in phrases if p.context == context][: 2 if quick else None]
            items = hm.items(mine, family)
            rng = np.random.default_rng(len(items))
            order = rng.permutation(len(items))  # mix voices and phrases within a stream
            items = [items[i] for i in order]
            for condition in CONDITIONS:
                for n, part in enumerate(chunks(items)):
                    plan.jobs.append(Job(stage, group, context, condition, build(part, condition, seed=seed_of(stage, group, context, condition, n))))


def talk_jobs(plan: Plan, quick: bool, held_out_only: bool = False) -> None:
    for half in ("heldout",) if quick or held_out_only else ("heldout", "tune"):
        clips = [Item(read_16k(p), None, f"librispeech {p.name}") for p in librispeech(half)[: 1 if quick else None]]
        for context in ("idle", "prompt", "turn"):
            for n, part in enumerate(chunks(clips, 10)):
                plan.jobs.append(Job("false", f"LibriSpeech read speech ({half} half)", context, "clean", build(part, "clean", seed=n, gap_s=(0.4, 1.2))))
    family = available(HELDOUT_VOICES)[: 1 if quick else 4]
    talk = hm.talk_items(family)[: 3 if quick else None]
    for context in ("prompt",) if quick else ("idle", "prompt", "turn"):
        plan.jobs.append(Job("false", "synthesized dinner-table talk", context, "clean", build(talk, "clean", seed=7, gap_s=(0.3, 1.0))))


def word_jobs(plan: Plan, quick: bool) -> None:
    """Real people saying one word (Speech Commands): yes and no are answers in the confirm
    context (hearth asked "do you want to stop here?"); the other words, said in the prompt
    context, must be heard as nothing."""
    folder = speech_dir() / "speech_commands"
    items = []
    for word_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        expect = (word_dir.name, ()) if word_dir.name in ("yes", "no") else None
        if quick and word_dir.name not in ("yes", "stop"):
            continue
        for clip in sorted(word_dir.glob("*.wav"))[: 1 if quick else None]:
            items.append(Item(trim(read_16k(clip), 30.0), expect, f"{word_dir.name}/{clip.name}"))
    answers = [item for item in items if item.expect is not None]  # said where hearth asked yes or no
    others = [item for item in items if item.expect is None]  # said while hearth waits for an answer
    for context, group in (("confirm", answers), ("prompt", others)):
        for n, part in enumerate(chunks(group)):
            plan.jobs.append(Job("words", "Speech Commands (real people)", context, "clean", build(part, "clean", seed=n)))


def hour_of_talk(minutes: float) -> Stream:
    """Continuous conversation for the cost measurement: all of LibriSpeech (both halves and the
    babble talkers), looped with short pauses, to `minutes`."""
    clips = sorted((speech_dir() / "librispeech").glob("*.wav"))
    items: list[Item] = []
    total = 0.0
    while total < minutes * 60:
        for path in clips:
            audio = read_16k(path)
            items.append(Item(audio, None, path.name))
            total += audio.size / 16000 + 0.7
            if total >= minutes * 60:
                break
    return build(items, "clean", seed=1, gap_s=(0.3, 1.1), lead_s=1.0)


def run(job: Job, engine: str, code: Path) -> Result:
    result = listen(job.stream, engine, job.context, job.intents, code)
    return Result(job, score(job.stream, result.detections, expect_of), result)


def totals(results: list[Result]) -> dict[tuple[str, str, str], dict[str, float]]:
    """(group, context, condition) -> counts, and '*' rows summed over contexts."""
    table: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in results:
        for key in ((r.job.group, r.job.context, r.job.condition), (r.job.group, "*", r.job.condition), ("*", "*", r.job.condition)):
            row = table[key]
            for outcome in r.score.outcomes:
                if outcome.item.expect is not None:
                    row["commands"] += 1
                    row[outcome.verdict] += 1
            row["false"] += len(r.score.false_activations)
            row["hours"] += r.score.audio_s / 3600
    return table


def latencies(results: list[Result]) -> list[float]:
    return [o.latency_s for r in results for o in r.score.outcomes if o.verdict == "right" and o.latency_s is not None]
