"""Speech-recognition benchmark: command accuracy in noise, false activations, latency and cost.

    python scripts/bench_asr.py [--quick] [--engines pocketsphinx,vosk] [--out BENCHMARKS.md]
                                [--committed] [--workers 2]

Why it is built this way:
* It measures the product, not a copy of it: audio goes through `open_recognizer` and
  `CommandListener` exactly as the live session and `hearth listen --input FILE.wav --context C
  --json` (the stable measurement interface) use them, in-process only for speed. Whatever the
  recognizer's authors commit is what gets measured; `--committed` exports HEAD with `git archive`
  so uncommitted edits in the working tree cannot leak into the figures.
* Synthetic voices give many speakers and exact ground truth (text, and where speech ends); real
  recordings (../shared/speech, never copied into the repo) keep the figures honest about humans.
  Synthetic speech has exact digital silence, which no microphone produces, so a -66 dBFS white
  noise floor is added everywhere (shared/notes/environment-findings.md: it changes
  PocketSphinx's accuracy a lot).
* Every task builds a fresh recognizer and every item has its own seed, so results do not depend on
  which of the 2 worker processes ran what, or in which order: the run is deterministic.
* Each engine runs in its own pool of spawned processes, so its peak RSS is its own.
* Targets are reported with the measured figure and met/missed; nothing here is tuned to pass.
Synthesized audio is cached in the temp dir (not the repo). Only our own benchmark texts are ever
written to disk; no transcript of real speech is stored or printed (only intent names).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import (
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (
    REPO,
    CodeState,
    code_state,
    export_commit,
    machine_line,
    markdown_table,
    package_versions,
    pct,
    peak_rss_mb,
    percentile,
    rewrite_section,
    speech_dir,
    stable_seed,
    tool_version,
)

SECTION = "## Speech recognition"
MEASURED_PATHS = ("assistant", "intents")
RATE = 16_000
BLOCK_BYTES = 640  # 20 ms of 16 kHz int16, the block size the live microphone delivers
LEAD_S, TAIL_S = 0.5, 0.8  # (noisy) silence around each command
SPEECH_DBFS = -30.0  # speech RMS: a normal voice a metre from a laptop microphone
FLOOR_DBFS = -66.0  # microphone self-noise
CACHE_VERSION = "v1"
DEFAULT_ENGINES = ("pocketsphinx", "vosk")
VOSK_SKIP = "Vosk: skipped — no English model here (hearth model download)"

TARGETS = {
    "accuracy": 95.0,  # % right at 10 dB SNR
    "fa_per_hour": 0.5,
    "latency_p95_ms": 400.0,
    "rtf": 0.1,
    "rss_mb": 200.0,  # PocketSphinx
}

# ---------------------------------------------------------------- benchmark material


@dataclass(frozen=True)
class Command:
    """A command phrase and what hearth should make of it."""

    text: str
    intent: str
    slots: tuple[tuple[str, str | int], ...] = ()


COMMANDS: tuple[Command, ...] = (
    Command("next question", "next"),
    Command("say that again", "repeat"),
    Command("go back", "back"),
    Command("skip this one", "skip"),
    Command("pause", "pause"),
    Command("hold on a minute", "pause"),
    Command("carry on", "resume"),
    Command("give us two more minutes", "more_time", (("minutes", 2),)),
    Command("how much time is left", "time_left"),
    Command("i'm done", "done_turn"),
    Command("stop the exercise", "stop"),
    Command("that's enough for tonight", "stop"),
    Command("what can i say", "help"),
    Command("what exercises are there", "list_exercises"),
    Command("start our check in", "start", (("exercise", "check_in"),)),
    Command("continue the thirty six questions", "continue", (("exercise", "thirty_six_questions"),)),
    Command("start listening turns", "start", (("exercise", "listening_turns"),)),
    Command("yes stop", "yes"),
    Command("no keep going", "no"),
    Command("what is a bid for connection", "info", (("topic", "bids_for_connection"),)),
    Command("give us a topic", "topic"),
    Command("{wake} how much time is left", "time_left"),  # the addressed form the turn context needs
)
QUICK_COMMANDS = ("next question", "give us two more minutes", "{wake} how much time is left")

# Ordinary dinner-table talk that uses command words in ordinary ways. None of these sentences (or
# their comma-separated clauses) is a hearth command; `conversation_sentences` re-checks that.
CONVERSATION: tuple[str, ...] = (
    "We should stop by the bakery tomorrow morning.",
    "Next time let's take the train instead of driving.",
    "It's your turn to choose the film tonight.",
    "I'm done with that book, you can borrow it if you like.",
    "Can you pass the salt and the pepper?",
    "The meeting went on for an extra hour today.",
    "My sister asked if we are free next weekend.",
    "I think the bus stop moved to the other corner.",
    "Did you remember to check the post this morning?",
    "The new cafe on the corner is worth a try.",
    "We have to be back home before nine on Thursday.",
    "She paused the game to answer the phone.",
    "I skipped lunch so I'm really hungry now.",
    "Give me a minute to finish this soup.",
    "That was a good question at the meeting.",
    "Let's start planning the garden in the spring.",
    "They want to continue the project after the holidays.",
    "The train was ten minutes late again this morning.",
    "I could not stop laughing at that show.",
    "We ran out of time at the museum.",
    "The kids took turns on the swing all afternoon.",
    "He checked in at the hotel around midnight.",
    "Remind me to call the plumber on Monday.",
    "The weather looks better for the next few days.",
    "My back has been sore since the hike.",
    "I want to paint the hallway a warmer colour.",
    "Your mother called while you were out.",
    "Every time we go there the parking is full.",
    "The soup needs a little more salt.",
    "I finished the report just before the deadline.",
    "We should go back to that little beach in June.",
    "There's no rush, we have the whole evening.",
    "The recipe says to stir it every minute.",
    "I started a new puzzle this afternoon.",
    "Do you want tea or coffee after dinner?",
    "The neighbours are having a party on Saturday.",
    "Turn left at the second light and park behind the shop.",
    "I'll skip the gym tomorrow and go on Friday instead.",
    "Our friends moved to a bigger flat across town.",
    "The question is whether we can afford a new car.",
    "That movie was too long but the ending was lovely.",
    "Let me check the timetable before we leave.",
    "The cat keeps knocking things off the shelf.",
    "We could take a short walk after we eat.",
    "I'm almost done with the dishes.",
    "The shop closes early on Sundays.",
    "Don't forget we promised to help them move house.",
    "The concert starts at eight so we should leave by seven.",
    "I think the pause button on the remote is broken.",
    "Could you grab some milk on your way back from work?",
    "The dog wants to go out again.",
    "My phone needs a new battery.",
    "It rained the whole time we were on holiday.",
    "Let's keep going with the painting this weekend.",
    "Your turn to do the dishes tonight, I cooked.",
    "I'll be ready in five minutes.",
    "We need more time to decide about the trip.",
    "The first question on the quiz was really easy.",
    "Next year I'd like to learn to play the piano.",
    "She said yes to the job offer straight away.",
    "We stopped at a farm shop on the way home.",
    "How much time do you need to get ready?",
    "Carry the box upstairs when you get a chance.",
)


@dataclass(frozen=True)
class VoiceSetup:
    """One synthetic speaker: synthesizer, voice and pace.

    `speed` is words per minute for espeak-ng (and its mbrola voices), and a speaking-rate factor
    for flite (its duration_stretch is 1/speed).
    """

    family: str  # "espeak-ng", "mbrola" or "flite": the row of the accuracy table
    synth: str  # "espeak" or "flite"
    voice: str
    speed: float
    pace: str  # "slower" or "faster"

    @property
    def voice_label(self) -> str:
        return f"{self.family} {self.voice}"

    @property
    def label(self) -> str:
        rate = f"{self.speed:g} wpm" if self.synth == "espeak" else f"x{self.speed:g}"
        return f"{self.voice_label} {rate}"


def _espeak(voice: str, family: str = "espeak-ng") -> list[VoiceSetup]:
    return [VoiceSetup(family, "espeak", voice, 140, "slower"), VoiceSetup(family, "espeak", voice, 180, "faster")]


def _flite(voice: str) -> list[VoiceSetup]:
    return [VoiceSetup("flite", "flite", voice, 0.9, "slower"), VoiceSetup("flite", "flite", voice, 1.15, "faster")]


ESPEAK_VOICES = ("en-us", "en", "en+f3", "en+m3", "en-us+f2", "en-gb-scotland")
MBROLA_VOICES = ("mb-us1", "mb-us2", "mb-en1")
FLITE_VOICES = ("kal16", "slt", "rms", "awb")
ALL_SETUPS: tuple[VoiceSetup, ...] = tuple(
    [s for v in ESPEAK_VOICES for s in _espeak(v)]
    + [s for v in MBROLA_VOICES for s in _espeak(v, "mbrola")]
    + [s for v in FLITE_VOICES for s in _flite(v)]
)
FAMILIES = ("espeak-ng", "mbrola", "flite")

# Two people at a table: each stream alternates two voices.
COUPLES: tuple[tuple[VoiceSetup, VoiceSetup], ...] = (
    (VoiceSetup("espeak-ng", "espeak", "en-us", 165, "-"), VoiceSetup("flite", "flite", "slt", 1.0, "-")),
    (VoiceSetup("flite", "flite", "kal16", 1.0, "-"), VoiceSetup("espeak-ng", "espeak", "en+f3", 155, "-")),
    (VoiceSetup("espeak-ng", "espeak", "en", 170, "-"), VoiceSetup("flite", "flite", "awb", 1.05, "-")),
    (VoiceSetup("flite", "flite", "rms", 0.95, "-"), VoiceSetup("espeak-ng", "espeak", "en-us+f2", 160, "-")),
    (VoiceSetup("espeak-ng", "espeak", "en+m3", 180, "-"), VoiceSetup("flite", "flite", "slt", 0.9, "-")),
    (VoiceSetup("espeak-ng", "espeak", "en-gb-scotland", 160, "-"), VoiceSetup("espeak-ng", "espeak", "en+f3", 180, "-")),
    (VoiceSetup("flite", "flite", "awb", 0.95, "-"), VoiceSetup("flite", "flite", "kal16", 1.1, "-")),
    (VoiceSetup("espeak-ng", "espeak", "en-us", 145, "-"), VoiceSetup("mbrola", "espeak", "mb-us1", 160, "-")),
    (VoiceSetup("mbrola", "espeak", "mb-us2", 165, "-"), VoiceSetup("flite", "flite", "rms", 1.1, "-")),
)
QUICK_COUPLE = (VoiceSetup("espeak-ng", "espeak", "en-us", 165, "-"), VoiceSetup("espeak-ng", "espeak", "en+f3", 165, "-"))


@dataclass(frozen=True)
class Condition:
    """Clean, or white/babble noise at an SNR measured over the speech part."""

    name: str
    kind: str  # "clean", "white" or "babble"
    snr_db: float | None = None

    @property
    def label(self) -> str:
        return "clean" if self.kind == "clean" else f"{self.kind} {self.snr_db:g} dB"


CONDITIONS = (
    Condition("clean", "clean"),
    Condition("white20", "white", 20.0),
    Condition("white10", "white", 10.0),
    Condition("white5", "white", 5.0),
    Condition("babble20", "babble", 20.0),
    Condition("babble10", "babble", 10.0),
    Condition("babble5", "babble", 5.0),
)
CONDITION_BY_NAME = {c.name: c for c in CONDITIONS}
QUICK_CONDITIONS = ("clean", "white10", "babble10")
LIVE_CONDITIONS = ("clean", "white10", "babble10")  # also measured in each command's live context
VIEWS = ("fixed/any", "fixed/live", "taught/live")  # which commands, heard in which context
VIEW_LABELS = {
    "fixed/any": "context any",
    "fixed/live": "each command's live context",
    "taught/live": "taught phrasings, live context",
}
CONTEXTS = ("idle", "prompt", "turn")
WORDS = {"yes": "yes", "no": "no", "stop": None, "go": None}  # speech_commands word -> expected intent

# ---------------------------------------------------------------- audio helpers (pure numpy)


def dbfs_to_amplitude(dbfs: float) -> float:
    return float(32768.0 * 10.0 ** (dbfs / 20.0))


def trim_silence(x: NDArray[np.float64], below_peak_db: float = 40.0) -> NDArray[np.float64]:
    """Cut the synthesizer's own leading/trailing silence (10 ms frames far below the loudest),
    so that 'end of speech' — the reference for decision latency — is where the voice stops."""
    frame = RATE // 100
    n = x.size // frame
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10.0 ** (-below_peak_db / 20.0))[0]
    return x[loud[0] * frame : (loud[-1] + 1) * frame]


def set_level(x: NDArray[np.float64], dbfs: float) -> NDArray[np.float64]:
    power = float(np.mean(x**2))
    return x if power == 0.0 else x * (dbfs_to_amplitude(dbfs) / np.sqrt(power))


def noise_floor(n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    return rng.normal(0.0, dbfs_to_amplitude(FLOOR_DBFS), n)


def scale_to_snr(noise: NDArray[np.float64], speech_power: float, span: slice, snr_db: float) -> NDArray[np.float64]:
    """Scale `noise` so that, over the speech span, speech power / noise power is `snr_db`."""
    power = float(np.mean(noise[span] ** 2)) or 1.0
    gain = float(np.sqrt(speech_power / 10.0 ** (snr_db / 10.0) / power))
    return noise * gain


# ---------------------------------------------------------------- synthesis (main process, cached)


def cache_path(cache: Path, setup: VoiceSetup, text: str) -> Path:
    recipe = f"{CACHE_VERSION}|{SPEECH_DBFS}|{setup.synth}|{setup.voice}|{setup.speed}|{text}"
    key = hashlib.sha1(recipe.encode()).hexdigest()
    return cache / f"{key[:20]}.wav"


def synthesize(setup: VoiceSetup, text: str, cache: Path) -> Path:
    """Synthesize, resample to 16 kHz, trim and level `text`; cached as a 16-bit WAV."""
    from assistant.speech.wavdir import write_wav

    path = cache_path(cache, setup, text)
    if path.exists():
        return path
    raw = _espeak_samples(setup, text) if setup.synth == "espeak" else _flite_samples(setup, text, cache)
    speech = set_level(trim_silence(raw), SPEECH_DBFS)
    handle, tmp = tempfile.mkstemp(suffix=".tmp", dir=cache)  # unique: two threads may make the same file
    os.close(handle)
    write_wav(Path(tmp), np.clip(np.rint(speech), -32768, 32767).astype(np.int16), RATE)
    os.replace(tmp, path)  # atomic: a cached file is always complete
    return path


def _espeak_samples(setup: VoiceSetup, text: str) -> NDArray[np.float64]:
    from assistant.audio import resample
    from assistant.speech.espeak import synthesize_to_array

    samples, rate = synthesize_to_array(text, voice=setup.voice, rate=int(setup.speed))
    return resample(samples.astype(np.float64), rate, RATE)


def _flite_samples(setup: VoiceSetup, text: str, cache: Path) -> NDArray[np.float64]:
    from assistant.audio import read_wav, to_mono16k

    with tempfile.NamedTemporaryFile(suffix=".wav", dir=cache) as out:
        stretch = f"duration_stretch={1.0 / setup.speed:.4f}"
        cmd = ["flite", "-voice", setup.voice, "--setf", stretch, "-t", text, "-o", out.name]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        return to_mono16k(read_wav(out.name)).astype(np.float64)


def synthesize_all(jobs: Iterable[tuple[VoiceSetup, str]], cache: Path, workers: int) -> dict[tuple[VoiceSetup, str], Path]:
    """Synthesize every (voice, text) once; the synthesizers are subprocesses, so threads suffice."""
    unique = sorted(set(jobs), key=lambda j: (j[0].label, j[1]))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        paths = list(pool.map(lambda job: synthesize(job[0], job[1], cache), unique))
    return dict(zip(unique, paths))


# ---------------------------------------------------------------- what can run here


@dataclass(frozen=True)
class Planned:
    """A command as spoken in this run: the wake name filled in, and where the session hears it."""

    command: Command
    text: str
    live: str  # the context in which the session would hear it


@dataclass
class Plan:
    """Everything one run measures, decided up front in the main process."""

    quick: bool
    setups: list[VoiceSetup]
    fixed: list[Planned]  # this benchmark's own command list (COMMANDS)
    taught: list[Planned]  # the phrasing hearth teaches for each intent (its help text)
    wake: str
    conditions: list[Condition]
    librispeech: list[Path]  # for false activations
    babble: list[Path]  # talkers to mix babble noise from (all clips, even in a quick run)
    words: dict[str, list[Path]]
    conversation: list[tuple[tuple[VoiceSetup, VoiceSetup], list[str]]]
    notes: list[str] = field(default_factory=list)  # visible reasons for anything skipped


def available_setups(candidates: Sequence[VoiceSetup], notes: list[str]) -> list[VoiceSetup]:
    """The voice setups this machine can synthesize; a note for each voice that it cannot."""
    usable: list[VoiceSetup] = []
    missing: dict[str, str] = {}
    flite_voices = _flite_voices()
    espeak_voices = _espeak_voices()
    for setup in candidates:
        if setup.synth == "flite":
            why = None if setup.voice in flite_voices else ("flite is not installed" if not flite_voices else "flite has no such voice")
        else:
            why = _espeak_problem(setup.voice, espeak_voices)
        if why is None:
            usable.append(setup)
        else:
            missing.setdefault(setup.voice_label, why)
    notes.extend(f"{voice}: skipped — {why}" for voice, why in missing.items())
    return usable


def _flite_voices() -> set[str]:
    if shutil.which("flite") is None:
        return set()
    out = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=False).stdout
    return set(out.replace("Voices available:", "").split())


def _espeak_voices() -> list[Any] | None:
    from assistant.errors import DeviceError
    from assistant.speech.espeak import list_voices

    try:
        return list_voices()
    except DeviceError:
        return None


def _espeak_problem(voice: str, voices: list[Any] | None) -> str | None:
    from assistant.errors import ConfigError
    from assistant.speech.espeak import resolve_voice

    if voices is None:
        return "espeak-ng is not installed"
    try:
        resolve_voice(voice, voices)
    except ConfigError as exc:
        reason = str(exc.args[0]) if exc.args else "unknown voice"
        if voice.startswith("mb-"):
            reason += " (Debian's mbrola and mbrola-us1/us2/en1 are not in this machine's apt components)"
        return reason
    return None


def checked_commands(names: Sequence[str] | None, wake: str, notes: list[str]) -> list[Planned]:
    """The commands (wake name filled in) that the current intents still read as the expected
    intent and slots; the others are skipped with a visible note."""
    intents = _intents()
    chosen: list[Planned] = []
    for command in COMMANDS:
        if names is not None and command.text not in names:
            continue
        text = command.text.format(wake=wake)
        match = intents.match(text, "any", enforce_wake=True)
        got = (match.intent, dict(match.slots)) if match else None
        if got != (command.intent, dict(command.slots)):
            notes.append(f"command '{text}': skipped — the intents now read it as {got}, not {command.intent}")
            continue
        chosen.append(Planned(dataclasses.replace(command, text=text), text, live_context(command, text, wake)))
    return chosen


def taught_commands(wake: str, limit: int | None, notes: list[str]) -> list[Planned]:
    """Each intent's help text — the phrasing hearth's prompts and help teach — as a command.

    Why: the recognizer is tuned for what hearth teaches, which may differ from this benchmark's
    fixed list; measuring both shows what a couple who follows the prompts gets, and the gap."""
    from assistant.intents import normalize

    intents = _intents()
    chosen: list[Planned] = []
    for intent in intents.intents[:limit]:
        text = " ".join(normalize(intent.help.replace("{wake}", wake)))
        match = intents.match(text, "any", enforce_wake=True)
        if match is None or match.intent != intent.name:
            notes.append(f"taught phrase '{text}' ({intent.name}): skipped — the intents read it as {match.intent if match else None}")
            continue
        command = Command(text, intent.name, tuple(sorted(match.slots.items())))
        chosen.append(Planned(command, text, live_context(command, text, wake)))
    return chosen


def live_context(command: Command, text: str, wake: str) -> str:
    """The context where the session would hear this command: turn for the addressed form,
    else the first of prompt and idle where the intents read it right ("any" if none does).

    Why measure there too: the recognizer may judge hits differently per context (the verifier
    has per-context acceptance edges), so "any" alone need not show what a couple gets."""
    order = ("turn", "prompt", "idle") if text.startswith(wake + " ") else ("prompt", "idle", "turn")
    for context in order:
        match = _intents().match(text, context, enforce_wake=True)
        if match is not None and (match.intent, dict(match.slots)) == (command.intent, dict(command.slots)):
            return context
    return "any"


def conversation_sentences(notes: list[str]) -> list[str]:
    """The conversation sentences that are not commands, neither whole nor clause by clause."""
    intents = _intents()
    kept = []
    for sentence in CONVERSATION:
        pieces = [sentence] + [p for p in re.split(r"[,.;:?!]", sentence) if p.strip()]
        hit = next((m for p in pieces if (m := intents.match(p, "any")) is not None), None)
        if hit is None:
            kept.append(sentence)
        else:
            notes.append(f"conversation sentence '{sentence}': dropped — it reads as the command {hit.intent}")
    return kept


def speech_material(quick: bool, notes: list[str]) -> tuple[list[Path], list[Path], dict[str, list[Path]]]:
    """LibriSpeech clips and speech_commands clips from ../shared/speech, if present."""
    root = speech_dir()
    libri = sorted((root / "librispeech").glob("*.wav"))
    if not libri:
        notes.append(f"LibriSpeech (false activations, babble noise): skipped — no clips in {root / 'librispeech'}")
    words = {w: sorted((root / "speech_commands" / w).glob("*.wav")) for w in WORDS}
    if not any(words.values()):
        notes.append(f"speech_commands: skipped — no clips in {root / 'speech_commands'}")
    if quick:
        return libri[:2], libri, {w: clips[:1] for w, clips in words.items()}
    return libri, libri, words


def make_plan(quick: bool) -> Plan:
    notes: list[str] = []
    candidates = [ALL_SETUPS[0]] if quick else list(ALL_SETUPS)
    setups = available_setups(candidates, notes)
    wake = str(_intents().wake_name)
    fixed = checked_commands(QUICK_COMMANDS if quick else None, wake, notes)
    taught = taught_commands(wake, 2 if quick else None, notes)
    libri, babble_pool, words = speech_material(quick, notes)
    names = QUICK_CONDITIONS if quick else tuple(c.name for c in CONDITIONS)
    conditions = [CONDITION_BY_NAME[n] for n in names]
    if not libri:
        conditions = [c for c in conditions if c.kind != "babble"]
    sentences = conversation_sentences(notes)
    couples = [QUICK_COUPLE] if quick else list(COUPLES)
    usable = set(available_setups([s for c in couples for s in c], []))
    conversation = [(c, sentences[:4] if quick else sentences) for c in couples if c[0] in usable and c[1] in usable]
    return Plan(quick, setups, fixed, taught, wake, conditions, libri, babble_pool, words, conversation, notes)


# ---------------------------------------------------------------- tasks (run in worker processes)


@dataclass(frozen=True)
class CommandTask:
    """All commands of one list and one voice setup in one noise condition, through one fresh
    recognizer. `view` says which list and where it is heard: "fixed/any" (this benchmark's list in
    context any), "fixed/live" (the same, each in its live context), "taught/live"."""

    engine: str
    setup: VoiceSetup
    condition: Condition
    view: str
    items: tuple[tuple[Command, str, str], ...]  # (command, cached speech WAV, context)
    babble: tuple[str, ...]  # LibriSpeech clips to mix babble from


@dataclass(frozen=True)
class Part:
    """One piece of a stream: a WAV, with noise-floor silence before and after it."""

    path: str
    lead_s: float
    gap_s: float


@dataclass(frozen=True)
class StreamTask:
    """A continuous recording (or, with `flush_each`, separate short ones) in one context."""

    engine: str
    kind: str  # "librispeech", "conversation" or "words"
    name: str
    context: str
    parts: tuple[Part, ...]
    flush_each: bool = False


Task = CommandTask | StreamTask


@dataclass(frozen=True)
class ItemResult:
    command: str  # the text spoken
    outcome: str  # "right", "wrong" (another intent/slots, or more than one detection) or "missed"
    heard: str
    latency_s: float | None
    at_flush: bool = False  # decided only when the input ended, not while it streamed


@dataclass
class TaskResult:
    """What a worker measured for one task; `hits` are (part index, intent) for streams."""

    items: list[ItemResult] = field(default_factory=list)
    hits: list[tuple[int, str]] = field(default_factory=list)
    audio_s: float = 0.0
    cpu_s: float = 0.0
    load_cpu_s: float = 0.0
    rss_mb: float = 0.0


_INTENTS: Any = None


def _intents() -> Any:
    global _INTENTS
    if _INTENTS is None:
        from assistant.intents import load_intents

        _INTENTS = load_intents()
    return _INTENTS


class Meter:
    """Feeds a listener in 20 ms blocks and counts the CPU time and audio spent doing it."""

    def __init__(self, engine: str, context: str) -> None:
        from assistant.asr.select import open_recognizer
        from assistant.listen import CommandListener

        started = time.process_time()
        recognizer, _ = open_recognizer(engine, None, _intents())
        self.listener = CommandListener(recognizer, _intents(), context)
        self.load_cpu_s = time.process_time() - started
        self.cpu_s = 0.0
        self.from_flush = 0

    def feed(self, samples: NDArray[np.float64], flush: bool) -> list[Any]:
        """Detections made while the audio streamed in, then (with `flush`) those that needed the
        end of input; `self.from_flush` says how many of the returned ones are of the second kind."""
        pcm = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
        started = time.process_time()
        found = [d for i in range(0, len(pcm), BLOCK_BYTES) for d in self.listener.feed(pcm[i : i + BLOCK_BYTES])]
        at_end = self.listener.flush() if flush else []
        self.cpu_s += time.process_time() - started
        self.from_flush = len(at_end)
        return found + at_end

    def result(self, **fields: Any) -> TaskResult:
        return TaskResult(audio_s=self.listener.audio_s, cpu_s=self.cpu_s, load_cpu_s=self.load_cpu_s, rss_mb=peak_rss_mb(), **fields)


def read_16k(path: str) -> NDArray[np.float64]:
    from assistant.audio import read_wav, to_mono16k

    return to_mono16k(read_wav(path)).astype(np.float64)


def babble(n: int, clips: Sequence[str], rng: np.random.Generator) -> NDArray[np.float64]:
    """4-6 LibriSpeech talkers at equal level from random points: people talking nearby."""
    mix = np.zeros(n)
    for i in rng.choice(len(clips), size=int(rng.integers(4, 7)), replace=False):
        x = read_16k(clips[i])
        start = int(rng.integers(0, max(1, x.size - n)))
        x = np.resize(x[start:], n)
        mix += x / (np.sqrt(np.mean(x**2)) + 1e-9)
    return mix


def render_command(speech: NDArray[np.float64], condition: Condition, clips: Sequence[str], rng: np.random.Generator) -> tuple[NDArray[np.float64], float]:
    """Pad a command with lead/tail silence, mix the condition's noise, add the floor.
    Returns the audio and the time at which speech ends."""
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    audio = np.concatenate([np.zeros(lead), speech, np.zeros(tail)])
    if condition.kind != "clean" and condition.snr_db is not None:
        noise = rng.normal(0.0, 1.0, audio.size) if condition.kind == "white" else babble(audio.size, clips, rng)
        span = slice(lead, lead + speech.size)
        audio = audio + scale_to_snr(noise, float(np.mean(speech**2)), span, condition.snr_db)
    return audio + noise_floor(audio.size, rng), (lead + speech.size) / RATE


def classify(command: Command, detections: Sequence[Any], speech_end_s: float) -> tuple[str, str, float | None]:
    """right = exactly one detection, with the right intent and slots; missed = none; else wrong."""
    if not detections:
        return "missed", "", None
    heard = "; ".join(d.intent + (f" {d.slots}" if d.slots else "") for d in detections)
    first = detections[0]
    if len(detections) == 1 and first.intent == command.intent and first.slots == dict(command.slots):
        return "right", heard, first.decided_s - speech_end_s
    return "wrong", heard, None


def run_command_task(task: CommandTask) -> TaskResult:
    meter = Meter(task.engine, task.items[0][2] if task.items else "any")
    items = []
    for command, path, context in task.items:
        meter.listener.set_context(context)  # as the session does; a no-op when unchanged
        rng = np.random.default_rng(stable_seed(task.setup.label, task.condition.name, command.text))
        audio, speech_end = render_command(read_16k(path), task.condition, task.babble, rng)
        offset = meter.listener.audio_s
        outcome, heard, latency = classify(command, meter.feed(audio, flush=True), offset + speech_end)
        items.append(ItemResult(command.text, outcome, heard, latency, at_flush=outcome == "right" and meter.from_flush > 0))
    return meter.result(items=items)


def run_stream_task(task: StreamTask) -> TaskResult:
    """Feed the parts back to back (each clip separately when `flush_each`) and attribute every
    detection to the part it overlaps. The noise floor's seed is shared across contexts."""
    meter = Meter(task.engine, task.context)
    rng = np.random.default_rng(stable_seed(task.kind, task.name))
    spans: list[tuple[float, float]] = []
    hits: list[tuple[int, str]] = []
    for index, part in enumerate(task.parts):
        x = read_16k(part.path)
        audio = np.concatenate([np.zeros(int(part.lead_s * RATE)), x, np.zeros(int(part.gap_s * RATE))])
        start = meter.listener.audio_s
        spans.append((start, start + audio.size / RATE))
        found = meter.feed(audio + noise_floor(audio.size, rng), flush=task.flush_each)
        hits += [(index if task.flush_each else _part_of(d, spans), d.intent) for d in found]
    hits += [(_part_of(d, spans), d.intent) for d in meter.listener.flush()]
    return meter.result(hits=hits)


def _part_of(detection: Any, spans: Sequence[tuple[float, float]]) -> int:
    middle = (detection.start_s + detection.end_s) / 2.0
    return next((i for i, (a, b) in enumerate(spans) if a <= middle < b), len(spans) - 1)


def run_task(task: Task) -> TaskResult:
    """Worker entry point."""
    return run_command_task(task) if isinstance(task, CommandTask) else run_stream_task(task)


# ---------------------------------------------------------------- building and running tasks


def build_tasks(engine: str, plan: Plan, synth: dict[tuple[VoiceSetup, str], Path]) -> list[Task]:
    """Long continuous streams first (they balance the two workers), then the command items."""
    tasks: list[Task] = []
    streams = conversation_streams(plan, synth)
    for context in CONTEXTS:
        tasks += [StreamTask(engine, "conversation", name, context, parts) for name, parts in streams]
        tasks += [StreamTask(engine, "librispeech", f"chunk{i}", context, parts) for i, parts in enumerate(librispeech_chunks(plan))]
    for word, clips in plan.words.items():
        if clips:
            parts = tuple(Part(str(p), LEAD_S, TAIL_S) for p in clips)
            tasks.append(StreamTask(engine, "words", word, "prompt", parts, flush_each=True))
    babble_pool = tuple(str(p) for p in plan.babble)
    for setup in plan.setups:
        for view in VIEWS:
            chosen = plan.taught if view.startswith("taught") else plan.fixed
            items = tuple((p.command, str(synth[(setup, p.text)]), p.live if view.endswith("live") else "any") for p in chosen)
            conditions = [c for c in plan.conditions if view == "fixed/any" or c.name in LIVE_CONDITIONS]
            tasks += [CommandTask(engine, setup, condition, view, items, babble_pool) for condition in conditions]
    return tasks


def librispeech_chunks(plan: Plan, chunks: int = 6) -> list[tuple[Part, ...]]:
    """All clips as one evening of talk (0.5 s apart), cut in a few pieces for the two workers."""
    parts = [Part(str(p), 0.0, 0.5) for p in plan.librispeech]
    size = max(1, -(-len(parts) // chunks))
    return [tuple(parts[i : i + size]) for i in range(0, len(parts), size)]


def conversation_streams(plan: Plan, synth: dict[tuple[VoiceSetup, str], Path]) -> list[tuple[str, tuple[Part, ...]]]:
    """Each couple talks through the sentences in its own shuffled order, taking turns, with
    0.3-1.0 s pauses between sentences."""
    streams = []
    for n, (couple, sentences) in enumerate(plan.conversation):
        rng = np.random.default_rng(stable_seed("conversation", n))
        order = rng.permutation(len(sentences))
        parts = tuple(
            Part(str(synth[(couple[k % 2], sentences[i])]), 0.0, float(rng.uniform(0.3, 1.0))) for k, i in enumerate(order)
        )
        streams.append((f"couple{n}", parts))
    return streams


def synthesis_jobs(plan: Plan) -> list[tuple[VoiceSetup, str]]:
    jobs = [(setup, p.text) for setup in plan.setups for p in plan.fixed + plan.taught]
    jobs += [(voice, text) for couple, sentences in plan.conversation for voice in couple for text in sentences]
    return jobs


@dataclass
class EngineRun:
    engine: str
    tasks: list[Task]
    results: list[TaskResult]
    wall_s: float


def run_engine(engine: str, tasks: list[Task], workers: int) -> EngineRun:
    """Run the tasks in a fresh pool of spawned processes (so the engine's peak RSS is its own)."""
    started = time.monotonic()
    results: dict[int, TaskResult] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: dict[Future[TaskResult], int] = {pool.submit(run_task, task): i for i, task in enumerate(tasks)}
        for done, future in enumerate(as_completed(futures), 1):
            results[futures[future]] = future.result()
            if done % 10 == 0 or done == len(tasks):
                print(f"[{engine}] {done}/{len(tasks)} tasks, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return EngineRun(engine, tasks, [results[i] for i in range(len(tasks))], time.monotonic() - started)


def vosk_skip_reason() -> str | None:
    """Why Vosk cannot be measured here, or None. Only an English model makes sense for hearth."""
    from assistant.models import find_vosk_model

    try:
        path = find_vosk_model()
    except Exception as exc:  # noqa: BLE001 - a broken model named by the user: report it, skip
        return f"Vosk: skipped — {exc}"
    if path is None:
        return VOSK_SKIP
    name = path.name.lower()
    if not any(tag in name for tag in ("-en-", "-en.", "en-us", "en-in", "en-gb")) and not name.endswith("-en"):
        return f"Vosk: skipped — the model found ({path.name}) is not English"
    return None


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class CommandRecord:
    setup: VoiceSetup
    condition: Condition
    item: ItemResult


def command_records(run: EngineRun, view: str = "fixed/any") -> list[CommandRecord]:
    """The command items of one view (see `VIEWS`)."""
    return [
        CommandRecord(task.setup, task.condition, item)
        for task, result in zip(run.tasks, run.results)
        if isinstance(task, CommandTask) and task.view == view
        for item in result.items
    ]


def grouped(records: Iterable[CommandRecord], key: Callable[[CommandRecord], str]) -> dict[tuple[str, str], list[ItemResult]]:
    groups: dict[tuple[str, str], list[ItemResult]] = defaultdict(list)
    for record in records:
        groups[(key(record), record.condition.name)].append(record.item)
    return groups


def right_cell(items: Sequence[ItemResult]) -> str:
    right = sum(i.outcome == "right" for i in items)
    return f"{pct(right, len(items))} ({len(items)})" if items else "—"


def error_cell(items: Sequence[ItemResult]) -> str:
    wrong = sum(i.outcome == "wrong" for i in items)
    missed = sum(i.outcome == "missed" for i in items)
    return f"{pct(wrong, len(items))} / {pct(missed, len(items))}" if items else "—"


def condition_table(records: list[CommandRecord], plan: Plan, first: str, key: Callable[[CommandRecord], str], rows: Sequence[str], cell: Callable[[Sequence[ItemResult]], str], total: bool = True) -> str:
    groups = grouped(records, key)
    everything = grouped(records, lambda r: "all voices")
    headers = [first] + [c.label for c in plan.conditions]
    body = [[row] + [cell(groups.get((row, c.name), [])) for c in plan.conditions] for row in rows]
    if total:
        body.append(["**all voices**"] + [cell(everything.get(("all voices", c.name), [])) for c in plan.conditions])
    return markdown_table(headers, body)


def command_table(records: list[CommandRecord], plan: Plan, commands: Sequence[Planned], contexts: bool = False) -> str:
    """Per command: % right per condition, and what was heard instead most often."""
    groups = grouped(records, lambda r: r.item.command)
    per_cell = len(plan.setups)
    headers = ["command"] + [c.label for c in plan.conditions] + ["commonest error (all conditions)"]
    body = []
    for planned in commands:
        text = planned.text
        cells = [pct(sum(i.outcome == "right" for i in groups.get((text, c.name), [])), len(groups.get((text, c.name), []))) for c in plan.conditions]
        errors = Counter(r.item.heard or "missed" for r in records if r.item.command == text and r.item.outcome != "right")
        worst = ", ".join(f"{h} ×{n}" for h, n in errors.most_common(2)) or "—"
        where = f" [{planned.live}]" if contexts else ""
        body.append([f"\"{text}\"{where}"] + cells + [worst])
    return markdown_table(headers, body, "l" + "r" * len(plan.conditions) + "l") + f"\n\n{per_cell} voice setup(s) per cell."


def accuracy_at(records: list[CommandRecord], condition: str) -> tuple[int, int]:
    items = [r.item for r in records if r.condition.name == condition]
    return sum(i.outcome == "right" for i in items), len(items)


def stream_counts(run: EngineRun, kind: str) -> dict[str, tuple[int, float, Counter[str]]]:
    """Per context: (detections, audio seconds, intents heard) over the streams of one kind."""
    out: dict[str, tuple[int, float, Counter[str]]] = {}
    for task, result in zip(run.tasks, run.results):
        if isinstance(task, StreamTask) and task.kind == kind:
            count, seconds, intents = out.get(task.context, (0, 0.0, Counter()))
            out[task.context] = (count + len(result.hits), seconds + result.audio_s, intents + Counter(i for _, i in result.hits))
    return out


def fa_table(counts: dict[str, tuple[int, float, Counter[str]]]) -> str:
    rows = []
    for context in CONTEXTS:
        if context in counts:
            n, seconds, intents = counts[context]
            heard = ", ".join(f"{k} ×{v}" for k, v in intents.most_common(6)) or "—"
            rows.append([context, f"{seconds / 60:.1f}", n, f"{n / (seconds / 3600):.2f}", heard])
    return markdown_table(["context", "audio (min)", "detections", "FA / hour", "intents heard"], rows, "lrrrl")


def fa_rate(counts: dict[str, tuple[int, float, Counter[str]]], context: str) -> float | None:
    if context not in counts or counts[context][1] == 0:
        return None
    return counts[context][0] / (counts[context][1] / 3600)


def triggering_sentences(run: EngineRun, plan: Plan) -> str:
    """Which of our own conversation sentences set hearth off (our text, so it may be shown)."""
    found: Counter[tuple[str, str, str]] = Counter()
    for task, result in zip(run.tasks, run.results):
        if isinstance(task, StreamTask) and task.kind == "conversation":
            number = int(task.name.removeprefix("couple"))
            sentences = plan.conversation[number][1]
            order = np.random.default_rng(stable_seed("conversation", number)).permutation(len(sentences))
            for part, intent in result.hits:
                found[(task.context, sentences[order[part]], intent)] += 1
    if not found:
        return "No conversation sentence set hearth off."
    rows = [[ctx, f"\"{s}\"", intent, n] for (ctx, s, intent), n in found.most_common(12)]
    return markdown_table(["context", "sentence", "heard as", "times"], rows, "lllr")


def words_table(run: EngineRun) -> str:
    rows = []
    for task, result in zip(run.tasks, run.results):
        if isinstance(task, StreamTask) and task.kind == "words":
            expected = WORDS[task.name]
            per_clip: dict[int, list[str]] = defaultdict(list)
            for part, intent in result.hits:
                per_clip[part].append(intent)
            n = len(task.parts)
            as_expected = sum(per_clip.get(i) == [expected] for i in range(n)) if expected else None
            heard = Counter(" + ".join(per_clip[i]) if i in per_clip else "nothing" for i in range(n))
            rows.append([f"\"{task.name}\"", n, expected or "(not a hearth command)",
                         pct(as_expected, n) if as_expected is not None else "—",
                         pct(len(per_clip), n), ", ".join(f"{k} ×{v}" for k, v in heard.most_common())])
    return markdown_table(["word", "clips", "expected intent", "recognized as expected", "any detection", "outcomes"], rows, "lrlrrl")


def latencies(records: list[CommandRecord]) -> list[float]:
    return [r.item.latency_s for r in records if r.item.latency_s is not None]


def latency_table(records: list[CommandRecord], plan: Plan) -> str:
    rows = []
    for condition in [None, *plan.conditions]:
        chosen = records if condition is None else [r for r in records if r.condition == condition]
        values = [v * 1000 for v in latencies(chosen)]
        at_end = sum(r.item.at_flush for r in chosen)
        label = "**all correct detections**" if condition is None else condition.label
        rows.append([label, len(values), _ms(percentile(values, 50)), _ms(percentile(values, 95)), _ms(max(values, default=math.nan)), pct(at_end, len(values))])
    return markdown_table(["condition", "n", "p50 (ms)", "p95 (ms)", "max (ms)", "decided only at end of input"], rows)


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f}"


@dataclass(frozen=True)
class Cost:
    audio_s: float
    cpu_s: float
    rtf: float
    rtf_stream: float
    rtf_commands: float
    load_cpu_s: float
    rss_mb: float


def cost_of(run: EngineRun) -> Cost:
    def rtf(which: Callable[[Task], bool]) -> float:
        pairs = [(r.cpu_s, r.audio_s) for t, r in zip(run.tasks, run.results) if which(t)]
        audio = sum(a for _, a in pairs)
        return sum(c for c, _ in pairs) / audio if audio else float("nan")

    loads = sorted(r.load_cpu_s for r in run.results)
    return Cost(
        audio_s=sum(r.audio_s for r in run.results),
        cpu_s=sum(r.cpu_s for r in run.results),
        rtf=rtf(lambda t: True),
        rtf_stream=rtf(lambda t: isinstance(t, StreamTask) and t.kind != "words"),
        rtf_commands=rtf(lambda t: isinstance(t, CommandTask)),
        load_cpu_s=loads[len(loads) // 2] if loads else float("nan"),
        rss_mb=max((r.rss_mb for r in run.results), default=float("nan")),
    )


def cost_table(costs: dict[str, Cost]) -> str:
    rows = [
        [engine, f"{c.audio_s / 60:.1f}", f"{c.cpu_s:.0f}", f"{c.rtf:.3f}", f"{c.rtf_stream:.3f}", f"{c.rtf_commands:.3f}", f"{c.load_cpu_s:.2f}", f"{c.rss_mb:.0f}"]
        for engine, c in costs.items()
    ]
    headers = ["engine", "audio (min)", "CPU (s)", "RTF all", "RTF continuous talk", "RTF command clips", "recognizer load (CPU s, median)", "peak RSS (MB)"]
    return markdown_table(headers, rows)


def _met(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "yes" if ok else "**NO**"


def target_rows(engine: str, run: EngineRun, plan: Plan, cost: Cost) -> list[list[str]]:
    records = command_records(run)
    rows: list[list[str]] = []
    for view, where in VIEW_LABELS.items():
        for name in ("white10", "babble10"):
            right, n = accuracy_at(command_records(run, view), name)
            if n:
                row = [engine, f"command accuracy, {CONDITION_BY_NAME[name].label}, {where}", f">= {TARGETS['accuracy']:.0f}%"]
                rows.append(row + [f"{pct(right, n, 1)} (n={n})", _met(100.0 * right / n, TARGETS["accuracy"], True)])
    for kind, label in (("conversation", "synthesized conversation"), ("librispeech", "LibriSpeech read speech")):
        counts = stream_counts(run, kind)
        for context in CONTEXTS:
            rate = fa_rate(counts, context)
            if rate is not None:
                shown = f"{rate:.2f} ({counts[context][0]} in {counts[context][1] / 3600:.2f} h)"
                rows.append([engine, f"false activations / hour, {label}, {context}", f"<= {TARGETS['fa_per_hour']}", shown, _met(rate, TARGETS["fa_per_hour"], False)])
    values = [v * 1000 for v in latencies(records)]
    p95 = percentile(values, 95) if values else None
    rows.append([engine, "decision latency p95 (correct detections)", f"<= {TARGETS['latency_p95_ms']:.0f} ms", f"{p95:.0f} ms (n={len(values)})" if p95 is not None else "n/a", _met(p95, TARGETS["latency_p95_ms"], False)])
    rows.append([engine, "real-time factor (CPU s per audio s, all audio)", f"<= {TARGETS['rtf']}", f"{cost.rtf:.3f}", _met(cost.rtf, TARGETS["rtf"], False)])
    rss_target = TARGETS["rss_mb"] if engine == "pocketsphinx" else None
    rows.append([engine, "peak RSS of a worker process", f"<= {rss_target:.0f} MB" if rss_target else "—", f"{cost.rss_mb:.0f} MB", _met(cost.rss_mb, rss_target, False) if rss_target else "—"])
    return rows


def engine_section(run: EngineRun, plan: Plan) -> str:
    """All of one engine's tables, in the order a reader asks: can it hear us, does it ignore us?"""
    records = command_records(run)
    parts = accuracy_parts(run.engine, records, plan) + live_parts(run, plan, "fixed/live") + live_parts(run, plan, "taught/live")
    parts += human_parts(run, plan)
    parts += conversation_parts(run, plan)
    parts += [
        f"### {run.engine}: decision latency",
        ("`decided_s` minus the end of speech (the synthesized command after trimming the synthesizer's own silence), "
         "over correct detections; 20 ms block granularity. A detection that came only from `flush()` (the voice-activity "
         f"detector had not closed the segment within the {TAIL_S} s tail) is counted at the end of the item: a lower "
         "bound, since a live stream has no end of input and would have decided later, or never."),
        latency_table(records, plan),
    ]
    return "\n\n".join(parts)


def accuracy_parts(engine: str, records: list[CommandRecord], plan: Plan) -> list[str]:
    per_family = Counter(s.family for s in plan.setups)
    families = [f for f in FAMILIES if per_family[f]]
    voices = list(dict.fromkeys(s.voice_label for s in plan.setups))
    setups = ", ".join(f"{f}: {per_family[f]}" for f in families)
    return [
        f'### {engine}: command accuracy (context "any")',
        (f"% right (items). Right = exactly one detection, with the right intent and slots. Each cell: {len(plan.fixed)} "
         f"commands × the family's voice setups ({setups}; each voice at 2 speeds)."),
        condition_table(records, plan, "voice family", lambda r: r.setup.family, families, right_cell),
        "Wrong / missed (%). Wrong = a different intent or slots, or more than one detection; missed = no detection.",
        condition_table(records, plan, "voice family", lambda r: r.setup.family, families, error_cell),
        "Per voice, both speeds together (% right, items):",
        condition_table(records, plan, "voice", lambda r: r.setup.voice_label, voices, right_cell, total=False),
        "By pace (% right, items): espeak-ng/mbrola 140 vs 180 words/min, flite ×0.9 vs ×1.15 speaking rate.",
        condition_table(records, plan, "pace", lambda r: r.setup.pace, ["slower", "faster"], right_cell, total=False),
        "Per command (% right):",
        command_table(records, plan, plan.fixed),
    ]


def live_parts(run: EngineRun, plan: Plan, view: str) -> list[str]:
    """Commands heard in the context where the session would hear them: this benchmark's list
    ("fixed/live") or the phrasings hearth teaches ("taught/live")."""
    records = command_records(run, view)
    if not records:
        return []
    commands = plan.taught if view == "taught/live" else plan.fixed
    per_context = ", ".join(f"{k}: {v}" for k, v in sorted(Counter(p.live for p in commands).items()))
    live_plan = dataclasses.replace(plan, conditions=[c for c in plan.conditions if c.name in LIVE_CONDITIONS])
    families = [f for f in FAMILIES if any(s.family == f for s in plan.setups)]
    if view == "taught/live":
        title = "the phrasings hearth teaches (each intent's help text), in their live contexts"
        intro = f"What a couple who says exactly what hearth suggests gets ({len(commands)} phrases; {per_context})."
    else:
        title = "command accuracy in each command's live context"
        intro = (f"The same {len(commands)} commands, each heard in the context where the session would hear it "
                 f"({per_context}); the recognizer may accept hits differently per context.")
    return [
        f"### {run.engine}: {title}",
        intro + " % right (items):",
        condition_table(records, live_plan, "voice family", lambda r: r.setup.family, families, right_cell),
        "Per command (% right; context in brackets):",
        command_table(records, live_plan, commands, contexts=True),
    ]


def human_parts(run: EngineRun, plan: Plan) -> list[str]:
    parts = [f"### {run.engine}: real human speech"]
    if plan.librispeech:
        parts += [
            (f"False activations on LibriSpeech ({len(plan.librispeech)} clips of different speakers reading ordinary "
             "prose, no commands), fed back to back with 0.5 s gaps:"),
            fa_table(stream_counts(run, "librispeech")),
        ]
    else:
        parts.append(f"**LibriSpeech false activations: skipped — no clips in {speech_dir() / 'librispeech'}.**")
    if any(plan.words.values()):
        parts += [
            ('Google Speech Commands one-word clips in context "prompt" (0.5 s lead, 0.8 s tail). hearth\'s templates '
             'prefer multi-word commands: "yes" and "no" are commands in prompt, "stop" and "go" alone are not, so for '
             "those any detection is a false one."),
            words_table(run),
        ]
    else:
        parts.append(f"**Speech Commands words: skipped — no clips in {speech_dir() / 'speech_commands'}.**")
    return parts


def conversation_parts(run: EngineRun, plan: Plan) -> list[str]:
    sentences = len(plan.conversation[0][1]) if plan.conversation else 0
    return [
        f"### {run.engine}: false activations on synthesized dinner-table conversation",
        (f"{len(plan.conversation)} two-voice streams of the same {sentences} ordinary sentences (each stream in its own order) "
         "that use command words (next, stop, time, turn, back, done, pause, skip, minute, question, check, start, continue), "
         "0.3-1.0 s between sentences:"),
        fa_table(stream_counts(run, "conversation")),
        "Sentences that set it off:",
        triggering_sentences(run, plan),
    ]


@dataclass
class RunInfo:
    args: argparse.Namespace
    state: CodeState
    started: datetime
    wall_s: float = 0.0


def reproduce_command(args: argparse.Namespace) -> str:
    parts = ["python scripts/bench_asr.py"]
    if args.quick:
        parts.append("--quick")
    if args.engines != ",".join(DEFAULT_ENGINES):
        parts.append(f"--engines {args.engines}")
    if args.committed:
        parts.append("--committed")
    if args.workers != 2:
        parts.append(f"--workers {args.workers}")
    return " ".join(parts)


def provenance(info: RunInfo) -> str:
    versions = package_versions(["pocketsphinx", "vosk", "numpy"])
    tools = {"espeak-ng": tool_version(["espeak-ng", "--version"]), "flite": tool_version(["flite", "--version"]), "sox": tool_version(["sox", "--version"])}
    listed = ", ".join(f"{k} {v}" for k, v in {**versions, **tools}.items())
    return "\n".join([
        f"- Reproduce: `{reproduce_command(info.args)}` (from the repository root; about {info.wall_s / 60:.1f} min wall with {info.args.workers} worker processes here)",
        f"- Date: {info.started:%Y-%m-%d %H:%M} UTC",
        f"- Code measured: {info.state.describe()}",
        f"- Machine: {machine_line()}",
        f"- Packages: {listed}",
    ])


def method_notes(plan: Plan) -> str:
    voices = ", ".join(dict.fromkeys(s.voice_label for s in plan.setups)) or "none"
    lines = [
        ("- Path measured: `open_recognizer(engine)` + `CommandListener(recognizer, intents, context).feed()` on 20 ms "
         "blocks of 16 kHz mono int16, then `flush()`: the code path of the live session. The stable measurement "
         "interface for any single recording is `hearth listen --input FILE.wav --context C --json` (same listener, one "
         "JSON detection per line); this script runs the same thing in-process for speed."),
        ("- A fresh recognizer per task (one voice setup × one condition, or one stream), each item with its own fixed "
         "seed: deterministic whatever the worker scheduling. Each engine runs in its own spawned worker processes, so "
         "peak RSS is the engine's own (Python, numpy and the task's audio included)."),
        (f"- Command items: {LEAD_S} s lead and {TAIL_S} s tail of (noisy) silence; speech levelled to {SPEECH_DBFS:g} "
         f"dBFS RMS; a {FLOOR_DBFS:g} dBFS white noise floor added to everything (microphone self-noise). SNR = speech "
         "power over the speech span / noise power over the same span. Babble = 4-6 LibriSpeech talkers at equal level "
         "from random points."),
        f"- Voices ({len(plan.setups)} setups): {voices}; two speeds each.",
        ("- FA / hour = detections / hours of audio fed. Contexts: idle (only start/continue live unaddressed), prompt, "
         f"turn (every command must start with the wake name, now \"{plan.wake}\")."),
    ]
    lines += [f"- {note}" for note in plan.notes]
    return "\n".join(lines)


def share_right(items: Sequence[ItemResult]) -> float:
    return sum(i.outcome == "right" for i in items) / len(items) if items else math.nan


def ranked(records: list[CommandRecord], key: Callable[[CommandRecord], str]) -> list[tuple[str, float]]:
    """Labels ordered from the lowest share right to the highest."""
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record.item)
    return sorted(((label, share_right(items)) for label, items in groups.items()), key=lambda pair: pair[1])


def summary(run: EngineRun, plan: Plan, targets: list[list[str]]) -> str:
    """A few computed sentences on top of the tables: what a reader would look for first."""
    records = command_records(run)
    missed = [row[1] for row in targets if row[0] == run.engine and row[4] == "**NO**"]
    met = sum(row[0] == run.engine and row[4] == "yes" for row in targets)
    by_condition = ", ".join(f"{c.label} {share_right([r.item for r in records if r.condition == c]):.0%}" for c in plan.conditions)
    errors = Counter(r.item.outcome for r in records)
    commands = ranked(records, lambda r: f'"{r.item.command}"')
    clean = [r for r in records if r.condition.name == "clean"]
    voices = ranked(clean, lambda r: r.setup.voice_label)
    right = [r for r in records if r.item.outcome == "right"]
    at_end = sum(r.item.at_flush for r in right)
    live_conditions = [c for c in plan.conditions if c.name in LIVE_CONDITIONS]

    def by_live(view: str) -> str:
        live = command_records(run, view)
        return ", ".join(f"{c.label} {share_right([r.item for r in live if r.condition == c]):.0%}" for c in live_conditions)

    lines = [
        f"- Targets met: {met} of {met + len(missed)}" + (f"; missed: {'; '.join(missed)}." if missed else "."),
        (f"- Commands right, all voices: {by_condition}. Of the errors, {errors['missed']} were misses "
         f"and {errors['wrong']} wrong detections."),
        f"- The same commands in their live contexts (prompt/idle/turn): {by_live('fixed/live')}.",
        f"- The phrasings hearth teaches (help texts), in their live contexts: {by_live('taught/live')}.",
        f"- Weakest commands (all conditions): {_pairs(commands[:4])}; strongest: {_pairs(commands[4:][-3:])}.",
        f"- Clean speech by voice, weakest: {_pairs(voices[:3])}; strongest: {_pairs(voices[3:][-3:])}.",
        (f"- {pct(at_end, len(right))} of the correct detections came only from `flush()` at the end of the input "
         "(see the latency table per condition)."),
    ]
    return "\n".join(lines)


def _pairs(pairs: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{label} {share:.0%}" for label, share in pairs) or "—"


def render(info: RunInfo, plan: Plan, runs: list[EngineRun], skipped: list[str]) -> str:
    costs = {run.engine: cost_of(run) for run in runs}
    targets = [row for run in runs for row in target_rows(run.engine, run, plan, costs[run.engine])]
    parts = [SECTION, provenance(info)]
    if plan.quick:
        parts.append("**Quick run (smoke test): a handful of items per cell — these figures mean nothing.**")
    parts += [f"**{reason}**" for reason in skipped]
    if runs:
        parts += ["### Targets", markdown_table(["engine", "measure", "target", "measured", "met?"], targets, "llrrl")]
        parts += [f"### {run.engine}: summary\n\n{summary(run, plan, targets)}" for run in runs]
        parts += [engine_section(run, plan) for run in runs]
        cost_note = "CPU time (time.process_time) inside feed/flush per second of audio; peak RSS = the highest VmHWM of the engine's worker processes."
        parts += ["### Cost", cost_note, cost_table(costs)]
    parts += ["### Method", method_notes(plan)]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few items per measure (smoke test, ~15 s)")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help="comma-separated: pocketsphinx,vosk")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md", help="file whose '## Speech recognition' section is rewritten")
    parser.add_argument("--committed", action="store_true", help="measure HEAD exactly (git archive), not the working tree")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "hearth-bench-asr", help="synthesized audio cache (not in the repo)")
    args = parser.parse_args(argv)
    unknown = set(args.engines.split(",")) - set(DEFAULT_ENGINES)
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(sorted(unknown))} (use {', '.join(DEFAULT_ENGINES)})")
    return args


def select_code(args: argparse.Namespace) -> CodeState:
    """Put the code to measure first on sys.path (spawned workers inherit it)."""
    root = REPO
    if args.committed:
        root = export_commit("HEAD", MEASURED_PATHS, Path(tempfile.mkdtemp(prefix="hearth-bench-code-")))
    sys.path.insert(0, str(root))
    return code_state(MEASURED_PATHS, exported=args.committed)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = RunInfo(args, select_code(args), datetime.now(timezone.utc))
    started = time.monotonic()
    plan = make_plan(args.quick)
    args.cache.mkdir(parents=True, exist_ok=True)
    for note in plan.notes:
        print(note, file=sys.stderr)
    synth = synthesize_all(synthesis_jobs(plan), args.cache, args.workers)
    print(f"synthesized {len(synth)} utterances in {time.monotonic() - started:.0f} s (cache {args.cache})", file=sys.stderr)
    runs: list[EngineRun] = []
    skipped: list[str] = []
    for engine in args.engines.split(","):
        reason = vosk_skip_reason() if engine == "vosk" else None
        if reason:
            print(reason, file=sys.stderr)
            skipped.append(reason)
            continue
        runs.append(run_engine(engine, build_tasks(engine, plan, synth), args.workers))
    info.wall_s = time.monotonic() - started
    text = render(info, plan, runs, skipped)
    print(text)
    rewrite_section(args.out, SECTION, text)
    print(f"wrote the '{SECTION[3:]}' section of {args.out} ({info.wall_s / 60:.1f} min)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
