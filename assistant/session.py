"""The live, hands-free session: microphone -> listener -> engine -> speech and chimes.

One thread runs this loop; the microphone callback only enqueues audio and the speaker owns its own
thread. hearth must never act on its own voice, so while it speaks or chimes (and for a short tail
after, while the room still echoes) the microphone audio is not decoded. The one exception is
barge-in: an addressed command ("juniper, stop") is still listened for while hearth speaks, and a
detection whose words are inside the sentence hearth is saying right now is treated as an echo.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from . import engine
from .app import App, Clock, RealClock, build_app
from .asr.base import Recognizer
from .asr.select import open_recognizer, slower_engine_fallback
from .audio import Microphone, SoundDeviceMicrophone, WavFileMicrophone, rms_dbfs
from .chimes import ChimePlayer, duration_s
from .display import StatusDisplay, status_line
from .engine import Heard, VoiceActivity
from .errors import DeviceError
from .intents import normalize
from .listen import CommandListener, Detection
from .speech.base import Speaker
from .speech.factory import speaker_or_printer
from .speech.playback import device_arg
from .speech.printer import PrintSpeaker
from .store import Store

log = logging.getLogger("hearth")

ECHO_TAIL_S = 0.35  # the room keeps ringing a little after hearth stops
BACKLOG_LIMIT_S = 4.0  # audio waiting to be heard: beyond this, recognition is too slow for this computer
VOICE_DBFS = -45.0  # louder blocks count as someone talking (postpones silence re-prompts)
VOICE_EVENT_EVERY_S = 1.0


@dataclass
class EchoGuard:
    """Knows when hearth itself is making sound, so the microphone is not trusted then."""

    clock: Clock
    speaking: dict[int, str] = field(default_factory=dict)  # utterance id -> text still sounding
    quiet_from: float = 0.0

    def on_effect(self, effect: engine.Effect) -> None:
        now = self.clock.now()
        if isinstance(effect, engine.Say):
            self.speaking[effect.utterance] = effect.text
        elif isinstance(effect, engine.Chime):
            self.quiet_from = max(self.quiet_from, now + duration_s(effect.kind) + ECHO_TAIL_S)
        elif isinstance(effect, engine.StopSpeaking):
            self.speaking.clear()
            self.quiet_from = max(self.quiet_from, now + ECHO_TAIL_S)

    def finished(self, utterance: int) -> None:
        self.speaking.pop(utterance, None)
        self.quiet_from = max(self.quiet_from, self.clock.now() + ECHO_TAIL_S)

    def sounding(self) -> bool:
        return bool(self.speaking) or self.clock.now() < self.quiet_from

    def is_echo(self, detection: Detection) -> bool:
        """A barge-in detection made of words hearth is saying right now is its own voice."""
        heard = " ".join(normalize(detection.text))
        return any(heard in " ".join(normalize(text)) for text in self.speaking.values())


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


class VoiceLoop:
    """Runs until the microphone ends (a replayed file) or the user interrupts."""

    def __init__(
        self,
        app: App,
        microphone: Microphone,
        listener: CommandListener,
        show_transcripts: bool = False,
        lighter_engine: Callable[[], tuple[Recognizer, str] | None] | None = None,
    ) -> None:
        self.app = app
        self.lighter_engine = lighter_engine
        self.microphone = microphone
        self.listener = listener
        self.guard = EchoGuard(app.clock)
        self.show_transcripts = show_transcripts
        self.was_sounding = False
        self.last_voice_event = -1e9
        app.on_effect.append(self.guard.on_effect)
        app.on_finished.append(self.guard.finished)
        self.display = StatusDisplay(app.out)
        app.before_print.append(self.display.before_print)
        self.next_redraw = 0.0

    def run(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Listen until the input ends; `on_ready` runs once the first audio has arrived."""
        self.microphone.start()
        try:
            while not self.microphone.ended:
                block = self.microphone.read(timeout=0.5)
                if block is not None:
                    self.listener.skip(block)
                    break
            on_ready()
            while not self.microphone.ended:
                block = self.microphone.read(timeout=0.05)
                self.keep_up()
                self.app.poll_speaker()
                if block is not None:
                    self.hear_safely(block)
                self.app.dispatch(engine.Tick())
                self.listener.set_context(self.app.context)
                self.redraw()
        finally:
            self.microphone.stop()

    def keep_up(self) -> None:
        """A growing backlog of audio means this computer cannot decode as fast as people speak:
        say so once and carry on with the next lighter engine, dropping the stale audio."""
        if getattr(self.microphone, "backlog_s", 0.0) <= BACKLOG_LIMIT_S or self.lighter_engine is None:
            return
        replacement, self.lighter_engine = self.lighter_engine(), None
        if replacement is None:
            self.app.print("hearth: speech recognition cannot keep up on this computer.\n  fix: close other programs that use the processor")
            return
        recognizer, reason = replacement
        self.app.print(f"hearth: speech recognition cannot keep up on this computer; switching to {reason}.\n"
                       f"  fix: close other programs that use the processor, or start with --engine {recognizer.name}")
        while getattr(self.microphone, "backlog_s", 0.0) > 0.2 and not self.microphone.ended:
            block = self.microphone.read(timeout=0.0)
            if block is None:
                break
            self.listener.skip(block)
        self.listener.replace_recognizer(recognizer)

    def redraw(self) -> None:
        now = self.app.clock.now()
        if now >= self.next_redraw:
            self.next_redraw = now + 0.2
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.display.show(status_line(self.app.state, now, self.microphone.level, width))

    def hear_safely(self, block: bytes) -> None:
        """A recognizer hiccup on one block is logged (never with what was said) and listening goes on."""
        try:
            self.hear(block)
        except DeviceError:
            raise
        except Exception:
            log.exception("error while recognizing; listening goes on")
            self.listener.reset()

    def hear(self, block: bytes) -> None:
        sounding = self.guard.sounding()
        if sounding != self.was_sounding:
            self.listener.reset()  # drop half-heard audio that straddles hearth's own sound
            self.was_sounding = sounding
        if not sounding and rms_dbfs(block) > VOICE_DBFS:
            now = self.app.clock.now()
            if now - self.last_voice_event >= VOICE_EVENT_EVERY_S:
                self.last_voice_event = now
                self.app.dispatch(VoiceActivity())
        for detection in self.listener.feed(block):
            if sounding and (not self._addressed(detection) or self.guard.is_echo(detection)):
                continue
            if self.show_transcripts:
                print(f"(heard: {detection.text})", file=sys.stderr, flush=True)
            self.app.dispatch(Heard(detection.intent, detection.slots))
            self.listener.set_context(self.app.context)

    def _addressed(self, detection: Detection) -> bool:
        return normalize(detection.text)[:1] == self.listener.intents.wake_name.split()[:1]


def run_voice(args: argparse.Namespace, store: Store) -> int:
    """`hearth` (and `hearth start X`) without --text: listen and speak.

    The caller has opened (and locked) the store and checked the exercise, before any device."""
    # The app prints every prompt itself; muted, nothing else needs to happen.
    speaker: Speaker = PrintSpeaker()
    voice = "voice: none (--mute)"
    try:
        if not args.mute:
            speaker, voice = speaker_or_printer(tts_to=args.tts_to, voice=args.voice, rate=args.rate, volume=args.volume,
                                                output_device=args.output_device)
        microphone: Microphone
        if args.input:
            microphone = WavFileMicrophone(args.input, realtime=True)
        else:
            microphone = SoundDeviceMicrophone(device=args.input_device)
    except BaseException:
        speaker.close()
        store.close()
        raise
    app = build_app(
        store.path.parent,
        store=store,
        intent_paths=args.intents,
        exercise_paths=args.exercises,
        speaker=speaker,
        chimes=ChimesBeforeSpeech(ChimePlayer(device_arg(args.output_device), mode="silent" if args.mute else "sound")),
        clock=RealClock(),
        names=tuple(args.names) if args.names else None,
        wake_name=args.wake_name,
    )
    try:
        recognizer, description = open_recognizer(args.engine, args.model, app.intents)
        app.print(description)
        app.print(voice)
        listener = CommandListener(recognizer, app.intents, app.context)
        lighter = None if args.engine != "auto" else (lambda: slower_engine_fallback(recognizer.name, args.model, app.intents))
        loop = VoiceLoop(app, microphone, listener, args.debug_transcripts, lighter)

        def ready() -> None:
            if args.command == "start":
                app.start(args.exercise, args.minutes)
            else:
                app.print(f"Listening. Say \"start our daily check in\", or \"{app.intents.wake_name}, what can we do\".")

        loop.run(ready)
    finally:
        app.close()
    return 0
