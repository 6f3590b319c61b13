"""Audio in: a microphone or a recording -> the listener -> commands for the runtime.

One input for both: `hearth` (the microphone), `hearth --input FILE.wav` (a recording replayed in
real time, or as fast as it decodes on `--fake-clock`, where the recording's own time is the clock)
and the tests' scripted microphones. The microphone callback only enqueues; this runs on the
session's thread, between the runtime's ticks.

- Never its own voice: while hearth sounds (echo.py) only an addressed command is acted on, and not
  when its words are the ones hearth is saying.
- Keeping up: a growing backlog of audio means this computer cannot decode as fast as people speak;
  hearth says so once and carries on with a lighter recognizer.
- A lost microphone: the exercise is paused with the engine's own pause (its timers stop), hearth
  says so once, tries the device again every few seconds, and carries on when audio flows again.
- The end of a recording: its last segment is heard too (`listener.flush()`), so a session replay
  hears the same commands as `hearth listen` does in the same file.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable

from .asr.base import Recognizer
from .audio import Microphone, rms_dbfs
from .clock import FakeClock
from .display import StatusDisplay, status_line
from .echo import EchoGuard
from .engine import Event, Heard, NotLive, VoiceActivity
from .errors import DeviceError
from .listen import BYTES_PER_SECOND, CommandListener, Detection
from .runtime import Runtime

log = logging.getLogger("hearth")

BACKLOG_LIMIT_S = 4.0  # audio waiting to be heard: beyond this, recognition is too slow for this computer
VOICE_DBFS = -45.0  # louder blocks count as someone talking (postpones silence re-prompts)
VOICE_EVENT_EVERY_S = 1.0
READ_TIMEOUT_S = 0.05
RETRY_S = 3.0  # a lost microphone is tried again this often
LOST_POLL_S = 0.1  # while it is gone, the runtime still ticks (speech ends, saves retry) this often
LOST_LINE = "I can't hear you: the microphone stopped working. {paused}I'll listen again as soon as it's back."
BACK_LINE = "The microphone is working again."

LighterEngine = Callable[[], tuple[Recognizer, str] | None]


def event_for(detection: Detection) -> Event:
    """The one place a detection becomes an engine event: a command recognized that is not live
    in this context becomes `NotLive`, so the couple hears what they can say now."""
    if not detection.live:
        return NotLive(detection.intent)
    return Heard(detection.intent, detection.slots)


class Listening:
    """An Input (runtime.py) made of a microphone and a CommandListener; see the module docstring."""

    def __init__(
        self,
        microphone: Microphone,
        listener: CommandListener,
        *,
        show_transcripts: bool = False,
        lighter_engine: LighterEngine | None = None,
        on_heard: Callable[[Detection], None] | None = None,
        speech_audible: bool = True,
        chimes_audible: bool = True,
    ) -> None:
        self.microphone = microphone
        self.audible = (speech_audible, chimes_audible)  # what the echo guard must allow for
        self.listener = listener
        self.show_transcripts = show_transcripts
        self.lighter_engine = lighter_engine
        self.on_heard = on_heard  # told of every command acted on (the soak counts them)
        self.guard: EchoGuard | None = None
        self.display: StatusDisplay | None = None
        self.follows_audio = False  # on a fake clock, the recording's time is the clock
        self.was_sounding = False
        self.last_voice_event = -1e9
        self.next_redraw = 0.0
        self.lost: DeviceError | None = None  # the microphone is gone (why); it is being tried again
        self.reopened = False  # it opened again; back once audio flows
        self.next_retry = 0.0
        self.paused_for_loss = False

    # ---- the Input protocol

    def begin(self, runtime: Runtime) -> None:
        """Open the microphone and wait for its first audio (a start prompt must not go unheard)."""
        self.guard = EchoGuard(runtime.clock, *self.audible)
        runtime.on_effect.append(self.guard.on_effect)
        runtime.on_finished.append(self.guard.finished)
        self.display = StatusDisplay(runtime.out)
        runtime.before_print.append(self.display.before_print)
        self.follows_audio = isinstance(runtime.clock, FakeClock)
        self.microphone.start()
        while not self.microphone.ended:
            block = self.microphone.read(timeout=0.5)
            if block is not None:
                self._advance(runtime, block)
                self.hear_safely(runtime, block)  # heard like every other block: `hearth listen` hears it too
                break

    def step(self, runtime: Runtime) -> bool:
        self.listener.set_context(runtime.context)
        self.redraw(runtime)
        if self.lost is not None:
            self._retry(runtime)
            return True
        try:
            block = self.microphone.read(timeout=READ_TIMEOUT_S)
        except DeviceError as error:
            self._lose(runtime, error)
            return True
        self.keep_up(runtime)
        runtime.poll_speaker()
        if block is not None:
            self._advance(runtime, block)
            if self.reopened:
                self._back(runtime)
            self.hear_safely(runtime, block)
        return not self.microphone.ended

    def end(self, runtime: Runtime) -> None:
        """The recording is over: its last segment is heard too, as `hearth listen` hears it."""
        assert self.guard is not None
        try:
            self._act(runtime, self.listener.flush(), self.guard.sounding())
        except DeviceError:
            raise
        except Exception:
            log.exception("error while recognizing the end of the input")

    def close(self) -> None:
        self.microphone.stop()

    # ---- hearing

    def _advance(self, runtime: Runtime, block: bytes) -> None:
        if self.follows_audio:
            runtime.clock.sleep(len(block) / BYTES_PER_SECOND)

    def hear_safely(self, runtime: Runtime, block: bytes) -> None:
        """A recognizer hiccup on one block is logged (never with what was said) and listening goes on."""
        try:
            self.hear(runtime, block)
        except DeviceError:
            raise
        except Exception:
            log.exception("error while recognizing; listening goes on")
            self.listener.reset()

    def hear(self, runtime: Runtime, block: bytes) -> None:
        assert self.guard is not None
        sounding = self.guard.sounding()
        if sounding != self.was_sounding:
            self.listener.reset()  # drop half-heard audio that straddles hearth's own sound
            self.was_sounding = sounding
        if not sounding and rms_dbfs(block) > VOICE_DBFS:
            now = runtime.clock.now()
            if now - self.last_voice_event >= VOICE_EVENT_EVERY_S:
                self.last_voice_event = now
                runtime.dispatch(VoiceActivity())
        self._act(runtime, self.listener.feed(block), sounding)

    def _act(self, runtime: Runtime, detections: list[Detection], sounding: bool) -> None:
        assert self.guard is not None
        for detection in detections:
            if sounding and (not self.guard.addressed(detection, self.listener.intents.wake_name) or self.guard.is_echo(detection)):
                continue
            if self.show_transcripts:
                print(f"(heard: {detection.text})", file=sys.stderr, flush=True)
            if self.on_heard is not None:
                self.on_heard(detection)
            runtime.dispatch(event_for(detection))
            self.listener.set_context(runtime.context)

    def keep_up(self, runtime: Runtime) -> None:
        """A growing backlog of audio means this computer cannot decode as fast as people speak:
        say so once and carry on with the next lighter engine, dropping the stale audio."""
        if getattr(self.microphone, "backlog_s", 0.0) <= BACKLOG_LIMIT_S or self.lighter_engine is None:
            return
        replacement, self.lighter_engine = self.lighter_engine(), None
        if replacement is None:
            runtime.print("hearth: speech recognition cannot keep up on this computer.\n  fix: close other programs that use the processor")
            return
        recognizer, reason = replacement
        runtime.print(f"hearth: speech recognition cannot keep up on this computer; switching to {reason}.\n"
                      f"  fix: close other programs that use the processor, or start with --engine {recognizer.name}")
        while getattr(self.microphone, "backlog_s", 0.0) > 0.2 and not self.microphone.ended:
            try:
                block = self.microphone.read(timeout=0.0)
            except DeviceError:
                break  # gone: the next step's read finds out and handles it
            if block is None:
                break
            self._advance(runtime, block)
            self.listener.skip(block)
        self.listener.replace_recognizer(recognizer)

    def redraw(self, runtime: Runtime) -> None:
        now = runtime.clock.now()
        if self.display is not None and now >= self.next_redraw:
            self.next_redraw = now + 0.2
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.display.show(status_line(runtime.state, now, self.microphone.level, width))

    # ---- a microphone that goes away

    def _lose(self, runtime: Runtime, error: DeviceError) -> None:
        """Pause, say so once (not again while retries fail), and try again every RETRY_S."""
        self.microphone.stop()
        self.listener.reset()
        if not self.reopened:
            self.paused_for_loss = runtime.pause_quietly()
            runtime.announce(LOST_LINE.format(paused="I've paused the exercise. " if self.paused_for_loss else ""))
            runtime.print(f"  ({error.message}; fix: {error.fix})")
        self.lost, self.reopened = error, False
        self.next_retry = runtime.clock.now() + RETRY_S

    def _retry(self, runtime: Runtime) -> None:
        runtime.clock.sleep(LOST_POLL_S)  # nothing to read meanwhile; the runtime keeps ticking
        if runtime.clock.now() < self.next_retry:
            return
        try:
            self.microphone.start()
        except DeviceError:
            self.next_retry = runtime.clock.now() + RETRY_S
            return
        self.lost, self.reopened = None, True

    def _back(self, runtime: Runtime) -> None:
        self.reopened = False
        self.listener.reset()
        runtime.announce(BACK_LINE)
        if self.paused_for_loss:
            self.paused_for_loss = False
            runtime.heard("resume")
