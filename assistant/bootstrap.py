"""The composition root: the one place where a session is wired from real or fake parts.

cosmicpython's `bootstrap` is the model. `bootstrap()` builds the Runtime from whatever parts the
caller passes (tests pass fakes: a printing speaker, silent chimes, a fake clock, a scripted
microphone) and the real ones otherwise; `listening()` makes the audio input around a recognizer.
`open_session()` is what the `hearth` command runs: it turns the options into parts, opening the
devices in an order that keeps failures cheap (the caller has already locked the data folder and
checked the exercise), and picks the input: typed lines, the microphone, or a recording.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from . import engine
from .asr.base import Recognizer
from .audio import Microphone
from .microphone import SoundDeviceMicrophone
from .wavfile import WavFileMicrophone
from .chimes import ChimePlayer
from .clock import Clock, FakeClock, RealClock
from .checks import require_consistent
from .exercises import load_catalog
from .hearing import LighterEngine, Listening
from .intents import IntentSet
from .intent_yaml import load_intents
from .listen import CommandListener, Detection
from .runtime import Chimes, Input, Runtime, SilentChimes
from .utterances import Utterances, speaking_budget_s
from .speech.base import Speaker
from .speech.printer import PrintSpeaker
from .store import Store
from .typed import TypedLines

DEFAULT_NAMES = ("Partner one", "Partner two")


def partner_names(store: Store, override: tuple[str, str] | None = None) -> tuple[str, str]:
    if override:
        return override
    saved = store.settings()
    return (saved.get("partner_a", DEFAULT_NAMES[0]), saved.get("partner_b", DEFAULT_NAMES[1]))


def bootstrap(
    data_dir: Path,
    *,
    store: Store | None = None,
    intent_paths: Iterable[Path] = (),
    exercise_paths: Iterable[Path] = (),
    speaker: Speaker | None = None,
    chimes: Chimes | None = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
    names: tuple[str, str] | None = None,
    wake_name: str | None = None,
    reprompt_s: tuple[float, float] | None = None,
    speech_budget: Callable[[str], float] = speaking_budget_s,
) -> Runtime:
    """A Runtime from real or fake parts; content errors surface here, at start-up.

    `store` is the caller's (an in-memory `Store.scratch` for a rehearsal); by default the real,
    locked store in `data_dir`.
    """
    intents = load_intents(list(intent_paths) or None, wake_name)
    catalog = load_catalog(exercise_paths, intents)
    require_consistent(intents, catalog)
    store = store or Store(data_dir)
    crisis_line = store.settings().get("crisis_line", "")
    settings = engine.Settings(partners=partner_names(store, names), crisis_line=crisis_line)
    if reprompt_s:
        settings = replace(settings, first_reprompt_s=reprompt_s[0], second_reprompt_s=reprompt_s[1])
    state = engine.State(catalog=catalog, settings=settings, progress=store.progress())
    runtime = Runtime(
        intents=intents,
        catalog=catalog,
        store=store,
        speaker=speaker or PrintSpeaker(),
        chimes=chimes or SilentChimes(),
        clock=clock or RealClock(),
        out=out or sys.stdout,
        state=state,
        speaking=Utterances(speech_budget),
    )
    store.notify = lambda message: runtime.print(f"hearth: {message}")
    return runtime


def listening(
    runtime: Runtime,
    microphone: Microphone,
    recognizer: Recognizer,
    *,
    show_transcripts: bool = False,
    lighter_engine: LighterEngine | None = None,
    on_heard: Callable[[Detection], None] | None = None,
    speech_audible: bool = True,
    chimes_audible: bool = True,
) -> Listening:
    """The audio input: `microphone` heard by `recognizer`, held to the runtime's live grammar.
    What hearth makes audible (speech, chimes) is what its echo guard must allow for."""
    listener = CommandListener(recognizer, runtime.intents, runtime.context)
    return Listening(microphone, listener, show_transcripts=show_transcripts, lighter_engine=lighter_engine, on_heard=on_heard,
                     speech_audible=speech_audible, chimes_audible=chimes_audible)


class ChimesBeforeSpeech:
    """Plays a chime to its end before returning, so the prompt that follows never covers it.

    A chime lasts under a second and the microphone callback keeps queueing meanwhile, so waiting
    here costs no audio; without it, "turn over" and the next prompt would sound at once.
    """

    def __init__(self, player: ChimePlayer) -> None:
        self.player = player

    def play(self, kind: engine.ChimeKind) -> None:
        self.player.play(kind)
        self.player.wait(timeout=2.0)


# ---------------------------------------------------------------- the hearth command


def open_session(args: argparse.Namespace, store: Store) -> tuple[Runtime, Input, Callable[[], None]]:
    """(runtime, input, what to do once the input flows) for `hearth` and `hearth start X`.

    Typed lines with --text; a recording with --input (in real time, or as fast as it decodes on
    --fake-clock, a rehearsal); else the microphone. The caller has opened (and locked) the store
    and checked the exercise, before any device; it runs the session and closes the runtime.
    """
    rehearsal = bool(args.fake_clock)
    speaker: Speaker = PrintSpeaker()  # the runtime prints every prompt itself; muted, nothing else happens
    voice = "voice: none (--mute)"
    microphone: Microphone | None = None
    try:
        if not args.mute:
            from .speech.factory import speaker_or_printer

            speaker, voice = speaker_or_printer(tts_to=args.tts_to, voice=args.voice, rate=args.rate, volume=args.volume,
                                                output_device=args.output_device)
        if args.input and not args.text:
            microphone = WavFileMicrophone(args.input, realtime=not rehearsal)
        elif not args.text:
            microphone = SoundDeviceMicrophone(device=args.input_device)
    except BaseException:
        speaker.close()
        store.close()
        raise
    chimes: Chimes = SilentChimes()
    if microphone is not None and not rehearsal:
        from .speech.playback import device_arg

        chimes = ChimesBeforeSpeech(ChimePlayer(device_arg(args.output_device), mode="silent" if args.mute else "sound"))
    runtime = bootstrap(
        store.path.parent,
        store=store,
        intent_paths=args.intents,
        exercise_paths=args.exercises,
        speaker=speaker,
        chimes=chimes,
        clock=FakeClock() if rehearsal else RealClock(),
        names=tuple(args.names) if args.names else None,
        wake_name=args.wake_name,
    )
    runtime.speech_takes_no_time = rehearsal

    def ready() -> None:
        if args.command == "start":
            runtime.start(args.exercise, args.minutes)
        elif microphone is not None:
            book = runtime.catalog.phrases  # the taught phrases, never hard-coded ones
            runtime.print(f"Listening. Say \"{book.spoken('start', 'idle')}\", or \"{book.spoken('list_exercises', 'idle')}\".")

    if microphone is None:
        return runtime, TypedLines(sys.stdin), ready
    try:
        source = _audio_input(args, runtime, microphone, voice)
    except BaseException:
        runtime.close()
        raise
    return runtime, source, ready


def _audio_input(args: argparse.Namespace, runtime: Runtime, microphone: Microphone, voice: str) -> Listening:
    from .asr.select import open_recognizer, slower_engine_fallback

    recognizer, description = open_recognizer(args.engine, args.model, runtime.intents)
    runtime.print(description)
    runtime.print(voice)
    lighter = None if args.engine != "auto" else (lambda: slower_engine_fallback(recognizer.name, args.model, runtime.intents))
    speech_audible = not (args.mute or args.tts_to or isinstance(runtime.speaker, PrintSpeaker))  # printed or written to files
    chimes_audible = not (args.mute or isinstance(runtime.chimes, SilentChimes))
    return listening(runtime, microphone, recognizer, show_transcripts=args.debug_transcripts, lighter_engine=lighter,
                     speech_audible=speech_audible, chimes_audible=chimes_audible)


def run_session(args: argparse.Namespace, store: Store) -> int:
    """A whole session, typed or spoken; see `open_session` and the end-of-input rule (runtime.py)."""
    runtime, source, ready = open_session(args, store)
    with runtime:
        runtime.run(source, ready)
    return 0
