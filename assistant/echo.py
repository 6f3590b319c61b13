"""hearth must never act on its own voice: knowing when it is making sound, and what it is saying.

While hearth speaks or chimes (and for a short tail after, while the room still echoes) the
microphone is not trusted. The one exception is barge-in: an addressed command ("juniper, stop") is
still listened for while hearth speaks, and a detection whose words are inside the sentence hearth is
saying right now is its own echo. A session that makes no sound (speech printed or written to
files, chimes silent) has nothing to guard against, and hears a recording exactly as `hearth listen`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import engine
from .chimes import duration_s
from .clock import Clock
from .intents import normalize
from .listen import Detection

ECHO_TAIL_S = 0.35  # the room keeps ringing a little after hearth stops


@dataclass
class EchoGuard:
    """Knows when hearth itself is making sound, so the microphone is not trusted then."""

    clock: Clock
    speech_audible: bool = True  # False when speech is only printed or written to files (--mute, --tts-to)
    chimes_audible: bool = True  # False when chimes are silent (--mute)
    speaking: dict[int, str] = field(default_factory=dict)  # utterance id -> text still sounding
    quiet_from: float = 0.0

    def on_effect(self, effect: engine.Effect) -> None:
        now = self.clock.now()
        if isinstance(effect, engine.Say) and self.speech_audible:
            self.speaking[effect.utterance] = effect.text
        elif isinstance(effect, engine.Chime) and self.chimes_audible:
            self.quiet_from = max(self.quiet_from, now + duration_s(effect.kind) + ECHO_TAIL_S)
        elif isinstance(effect, engine.StopSpeaking) and self.speech_audible:
            self.speaking.clear()
            self.quiet_from = max(self.quiet_from, now + ECHO_TAIL_S)

    def finished(self, utterance: int) -> None:
        if self.speaking.pop(utterance, None) is not None:
            self.quiet_from = max(self.quiet_from, self.clock.now() + ECHO_TAIL_S)

    def sounding(self) -> bool:
        return bool(self.speaking) or self.clock.now() < self.quiet_from

    def is_echo(self, detection: Detection) -> bool:
        """A barge-in detection made of words hearth is saying right now is its own voice."""
        heard = " ".join(normalize(detection.text))
        return any(heard in " ".join(normalize(text)) for text in self.speaking.values())

    def addressed(self, detection: Detection, wake_name: str) -> bool:
        """Said to hearth by name ("juniper, stop"): the only kind of command that may cut it off."""
        return normalize(detection.text)[:1] == wake_name.split()[:1]
