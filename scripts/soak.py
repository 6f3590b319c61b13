"""Soak: hours of audio through the full listening loop, as fast as it runs; memory, false activations,
recognized commands and errors. Writes the "## Soak" section of BENCHMARKS.md (no other section).

The session is the real one from the composition root (assistant.bootstrap): the runtime, the audio
input with its echo guard, the CommandListener and the default recognizer. Only the clock (audio
time: a fake clock moved by the recording) and the speaker (printing, so hearth's speech takes no
time) are fakes, and the microphone is a stream assembled on the fly from:
- the real speech in ../shared/speech, looped in a fresh random order each pass: LibriSpeech read
  speech, Google Speech Commands single words, and people ordering coffee from a voice interface;
- silence between clips (a -66 dBFS noise floor, as a real microphone's self-noise), now and then a
  long quiet stretch;
- hearth's own commands, synthesized with espeak-ng (four voices), said by a scripted couple every
  40-120 s in the phrasing hearth teaches and fitting what is live: it starts exercises, moves through
  the 36 Questions, ends turns early, stops and confirms. So the session really runs all evening.

A detection during a command's window with its intent is a recognized command; with another intent a
wrong one; any detection outside a window is a false activation (reported by what was playing).
Memory: RSS every 5 minutes of audio; growth is measured from the end of the warm-up.

Usage: .venv/bin/python scripts/soak.py [--hours 4] [--warmup-min 20] [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))

from bench_common import code_state, machine_line, markdown_table, package_versions, percentile, rewrite_section, speech_dir  # noqa: E402

HEADING = "## Soak"
RATE = 16_000
BLOCK = RATE // 50  # 20 ms, as the microphone delivers
NOISE_DBFS = -66.0
VOICES = (("en-us", 150), ("en+m3", 140), ("en+f3", 130), ("en", 150))
WINDOW_S = 4.0  # a command's detection may come this long after its audio ends
SOURCES = {"librispeech": "librispeech/*.wav", "speech_commands": "speech_commands/*/*.wav", "coffee_orders": "coffee_orders/wav/*.wav"}


def rss_mb(field_name: str = "VmRSS:") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name):
            return int(line.split()[1]) / 1024.0
    return float("nan")


# ---------------------------------------------------------------- the scripted couple


@dataclass(frozen=True)
class Command:
    text: str
    intent: str
    slots: tuple[tuple[str, str | int], ...]


class Couple:
    """Says what a couple would say next, in hearth's taught phrasing, fitting what is live now."""

    def __init__(self, runtime: object, rng: random.Random) -> None:
        self.runtime = runtime
        self.rng = rng
        self.questions_left = 0
        self.starts = 0

    def taught(self, intent: str, context: str, phrase: str | None = None) -> Command:
        intents = self.runtime.intents  # type: ignore[attr-defined]
        chosen = next(i for i in intents.intents if i.name == intent)
        text = phrase or chosen.help
        if intents.needs_wake(chosen, context):
            text = f"{intents.wake_name}, {text}"
        match = intents.match(text, context, enforce_wake=True)
        if match is None:
            raise SystemExit(f"soak: the taught phrase {text!r} is not a command in {context}")
        return Command(text, match.intent, tuple(sorted(match.slots.items())))

    def next_command(self) -> Command | None:
        from assistant import engine

        state = self.runtime.state  # type: ignore[attr-defined]
        session, context = state.session, engine.context(state)
        if session is None:
            self.starts += 1
            self.questions_left = self.rng.randint(6, 20)
            if self.starts % 2:
                return self.taught("start", context)
            return self.taught("continue", context)  # the 36 Questions, where they left off
        if session.confirming:
            return self.taught("yes", context)
        if session.paused:
            return self.taught("resume", context)
        if context == "turn":
            return self.taught("done_turn", context) if self.rng.random() < 0.6 else self.taught("time_left", context)
        if session.phase != "waiting":
            return None  # hearth is talking: wait for it
        self.questions_left -= 1
        if self.questions_left <= 0:
            return self.taught("stop", context)
        roll = self.rng.random()
        if roll < 0.07:
            return self.taught("pause", context)
        if roll < 0.14:
            return self.taught("repeat", context)
        return self.taught("next", context)


# ---------------------------------------------------------------- the evening's audio


@dataclass
class Tally:
    """What happened, counted as the stream plays."""

    said: Counter[str] = field(default_factory=Counter)
    recognized: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    false: list[tuple[float, str, str]] = field(default_factory=list)  # (audio time, what was playing, heard intent)
    latencies: list[float] = field(default_factory=list)
    pending: tuple[Command, float, float] | None = None  # (command, when its last word ends, deadline)
    playing: deque[tuple[float, float, str]] = field(default_factory=lambda: deque(maxlen=8))
    rss: list[tuple[float, float]] = field(default_factory=list)  # (audio s, MB)
    audio_s: dict[str, float] = field(default_factory=Counter)  # type: ignore[assignment]

    def close_window(self) -> None:
        self.pending = None

    def source_at(self, t: float) -> str:
        for start, end, source in reversed(self.playing):
            if start - 0.5 <= t <= end + WINDOW_S:
                return source
        return "silence"


class EveningMicrophone:
    """The Microphone protocol over a stream assembled on the fly (see the module docstring)."""

    def __init__(self, hours: float, couple: Couple, tally: Tally, rng: random.Random, clips: dict[str, list[Path]]) -> None:
        self.total = int(hours * 3600 * RATE)
        self.couple, self.tally, self.rng, self.clips = couple, tally, rng, clips
        self.noise = np.random.default_rng(rng.randrange(1 << 30))
        self.level = -120.0
        self.position = 0  # samples delivered: the audio time, which the session's fake clock follows
        self._blocks = self._stream()
        self._ended = False
        self._voices: dict[tuple[str, tuple[str, int]], NDArray[np.int16]] = {}
        self.next_command_at = 30.0
        self.next_rss_at = 0.0

    @property
    def ended(self) -> bool:
        return self._ended

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        block = next(self._blocks, None)
        if block is None:
            self._ended = True
            return None
        self.position += block.size
        self._ended = self.position >= self.total
        return block.tobytes()

    def _silence(self, seconds: float) -> NDArray[np.int16]:
        sigma = 32768 * 10 ** (NOISE_DBFS / 20)
        return np.clip(self.noise.normal(0, sigma, int(seconds * RATE)), -32768, 32767).astype(np.int16)

    def _segments(self) -> Iterator[tuple[str, NDArray[np.int16], Command | None]]:
        from assistant.wavfile import read_mono16k

        playlist: list[tuple[str, Path]] = []
        while True:
            now = self.position / RATE
            if now >= self.next_rss_at:
                self.tally.rss.append((now, rss_mb()))
                self.next_rss_at = now + 300.0
            if now >= self.next_command_at:
                command = self.couple.next_command()
                if command is not None:
                    self.next_command_at = now + self.rng.uniform(40.0, 120.0)
                    yield "silence", self._silence(1.0), None
                    yield "command", self._command(command), command
                    continue
                self.next_command_at = now + 2.0  # hearth is still talking: try again shortly
            if not playlist:
                playlist = [(source, path) for source, paths in self.clips.items() for path in paths]
                self.rng.shuffle(playlist)
            source, path = playlist.pop()
            yield source, read_mono16k(path), None
            long_quiet = self.rng.random() < 0.08
            yield "silence", self._silence(self.rng.uniform(10.0, 40.0) if long_quiet else self.rng.uniform(0.3, 2.5)), None

    def _command(self, command: Command) -> NDArray[np.int16]:
        from live_harness import command_audio

        voice = VOICES[self.tally.said.total() % len(VOICES)]
        key = (command.text, voice)
        if key not in self._voices:
            self._voices[key] = command_audio(command.text, voice=voice[0], wpm=voice[1], lead_s=0.3, tail_s=1.5, seed=len(self._voices))
        return self._voices[key]

    def _stream(self) -> Iterator[NDArray[np.int16]]:
        for source, samples, command in self._segments():
            start = self.position / RATE
            end = start + samples.size / RATE
            if command is not None:
                self.tally.close_window()
                self.tally.said[command.intent] += 1
                loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 1000)  # far above the noise floor
                spoken_end = start + (int(loud[-1]) + 1 if loud.size else samples.size) / RATE
                self.tally.pending = (command, spoken_end, end + WINDOW_S)
            else:
                self.tally.playing.append((start, end, source))
            self.tally.audio_s[source] += samples.size / RATE
            for offset in range(0, samples.size, BLOCK):
                block = samples[offset: offset + BLOCK]
                if block.size < BLOCK:
                    block = np.concatenate([block, self._silence((BLOCK - block.size) / RATE)])
                yield block
                if self.position >= self.total:
                    return


# ---------------------------------------------------------------- the run


def find_clips(root: Path) -> dict[str, list[Path]]:
    clips = {source: sorted(root.glob(pattern)) for source, pattern in SOURCES.items()}
    missing = [source for source, paths in clips.items() if not paths]
    if missing:
        raise SystemExit(f"soak: no recordings for {', '.join(missing)} under {root} (set HEARTH_SPEECH)")
    return clips


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1
        if len(self.first) < 5:
            self.first.append(record.getMessage())


def soak(hours: float, engine_name: str, seed: int) -> dict[str, object]:
    from assistant.asr.select import open_recognizer
    from assistant.bootstrap import bootstrap, listening
    from assistant.clock import FakeClock
    from assistant.listen import Detection
    from assistant.speech.printer import PrintSpeaker
    from assistant.store import Store

    errors = ErrorCount()
    logging.getLogger("hearth").addHandler(errors)
    rng = random.Random(seed)
    tally = Tally()
    with open(os.devnull, "w") as sink:
        runtime = bootstrap(REPO, store=Store(None), speaker=PrintSpeaker(), clock=FakeClock(), out=sink, names=("Alex", "Sam"))
        sessions = Counter[str]()
        runtime.on_effect.append(lambda effect: sessions.update([type(effect).__name__]) if type(effect).__name__.startswith("Session") else None)
        couple = Couple(runtime, rng)
        microphone = EveningMicrophone(hours, couple, tally, rng, find_clips(speech_dir()))
        recognizer, description = open_recognizer(engine_name, None, runtime.intents)

        def heard(detection: Detection) -> None:
            now = runtime.clock.now()
            pending = tally.pending
            if pending is not None and now <= pending[2]:
                command = pending[0]
                if (detection.intent, tuple(sorted(detection.slots.items()))) == (command.intent, command.slots):
                    tally.recognized[command.intent] += 1
                    tally.latencies.append(now - pending[1])
                else:
                    tally.wrong.append(f"{command.intent} heard as {detection.intent}")
                tally.pending = None
                return
            tally.false.append((now, tally.source_at(now), detection.intent))

        source = listening(runtime, microphone, recognizer, on_heard=heard)
        cpu, wall = time.process_time(), time.perf_counter()
        runtime.run(source)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        tally.rss.append((microphone.position / RATE, rss_mb()))
        runtime.close()
    return {"tally": tally, "errors": errors, "cpu_s": cpu, "wall_s": wall, "audio_s": microphone.position / RATE,
            "peak_mb": rss_mb("VmHWM:"), "engine": description, "sessions": sessions}


def section(result: dict[str, object], command: str, warmup_min: float, state: object) -> str:
    tally: Tally = result["tally"]  # type: ignore[assignment]
    errors: ErrorCount = result["errors"]  # type: ignore[assignment]
    audio_h = float(result["audio_s"]) / 3600  # type: ignore[arg-type]
    warm = [mb for t, mb in tally.rss if t >= warmup_min * 60]
    at_warm, at_end = warm[0], tally.rss[-1][1]
    growth = at_end - at_warm
    said, recognized = tally.said.total(), tally.recognized.total()
    versions = package_versions(["ctranslate2", "onnxruntime", "numpy", "pocketsphinx"])
    by_source = Counter(source for _, source, _ in tally.false)
    out = [HEADING, "",
           f"- Reproduce: `{command}` (from the repository root; {float(result['wall_s']) / 60:.0f} min here)",  # type: ignore[arg-type]
           f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
           f"- Code measured: {state.describe()}",  # type: ignore[attr-defined]
           f"- Machine: {machine_line()}; shared with other work",
           "- Packages: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
           f"- {result['engine']}; a printing speaker (speech takes no time) and a fake clock moved by the audio; "
           "the runtime, audio input, echo guard and listener are the session's own (assistant.bootstrap)",
           "- Audio: " + ", ".join(f"{source} {seconds / 60:.0f} min" for source, seconds in sorted(tally.audio_s.items(), key=lambda kv: -kv[1]))
           + " (real speech from ../shared/speech looped in a fresh order each pass; commands synthesized with espeak-ng, 4 voices)",
           "", "### Targets", ""]
    rows = [["RSS growth after a %d-minute warm-up" % warmup_min, "< 5 MB", f"{growth:+.1f} MB", "yes" if growth < 5 else "**NO**"],
            ["errors logged (an utterance's error, a failed save)", "0", str(errors.counts["ERROR"]), "yes" if not errors.counts["ERROR"] else "**NO**"]]
    out += [markdown_table(["measure", "target", "measured", "met?"], rows, "llrl"), "", "### The run", ""]
    wall, cpu = float(result["wall_s"]), float(result["cpu_s"])  # type: ignore[arg-type]
    rows = [["audio", f"{audio_h:.2f} h"], ["wall time / CPU time", f"{wall / 60:.1f} min / {cpu / 60:.1f} min (CPU {cpu / (audio_h * 3600):.3f} s per audio s)"],
            ["RSS at the end of the warm-up / at the end", f"{at_warm:.1f} MB / {at_end:.1f} MB"],
            ["RSS after the warm-up: min / median / max", f"{min(warm):.1f} / {statistics.median(warm):.1f} / {max(warm):.1f} MB ({len(warm)} samples, every 5 min of audio)"],
            ["peak RSS (VmHWM)", f"{float(result['peak_mb']):.1f} MB"],  # type: ignore[arg-type]
            ["commands said / recognized", f"{said} / {recognized} ({100 * recognized / max(1, said):.0f}%)"],
            ["commands heard as another command", f"{len(tally.wrong)}" + (f" ({', '.join(Counter(tally.wrong).keys())})" if tally.wrong else "")],
            ["decision after the command's audio: p50 / p95", f"{percentile(tally.latencies, 50) * 1000:.0f} / {percentile(tally.latencies, 95) * 1000:.0f} ms"],
            ["false activations", f"{len(tally.false)} ({len(tally.false) / audio_h:.2f} an hour)" + (f"; by what was playing: {', '.join(f'{k} {v}' for k, v in by_source.most_common())}" if by_source else "")],
            ["warnings logged", str(errors.counts["WARNING"])],
            ["sessions started / ended", f"{result['sessions']['SessionStarted']} / {result['sessions']['SessionEnded']}"]]  # type: ignore[index]
    out += [markdown_table(["", ""], rows, "ll"), ""]
    rows = [[intent, tally.said[intent], tally.recognized[intent], f"{100 * tally.recognized[intent] / tally.said[intent]:.0f}%"] for intent in sorted(tally.said)]
    out += ["Commands by intent (the scripted couple's taught phrasings):", "", markdown_table(["intent", "said", "recognized", "share"], rows), ""]
    if tally.false:
        rows = [[f"{t / 60:.1f} min", source, intent] for t, source, intent in tally.false[:20]]
        out += ["False activations (audio time, what was playing, the command acted on):", "", markdown_table(["at", "playing", "acted on"], rows, "lll"), ""]
    out += ["A command's window runs from its first sample to %.0f s after its last; a detection in it with the command's "
            "intent counts as recognized, any other detection as a false activation. Decision: the audio time of the detection "
            "after the command's last word, when the session acted on it (the segment's trailing silence; on a fake clock the audio "
            "waits for the decoder, so decoding time is not in it)." % WINDOW_S, ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--warmup-min", type=float, default=20.0)
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    state = code_state(["assistant", "scripts/soak.py"], exported=False)  # before the run: what was loaded
    result = soak(args.hours, args.engine, args.seed)
    command = ".venv/bin/python scripts/soak.py" + (f" --hours {args.hours:g}" if args.hours != 4.0 else "")
    text = section(result, command, args.warmup_min, state)
    if not args.no_write:
        rewrite_section(args.out, HEADING, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
