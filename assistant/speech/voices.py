"""What `--voice` may name, in both families, and the `hearth voices` listing.

- nothing, or "piper" / "joe" / "en_US-joe-medium": the Piper neural voice (the default where installed)
- a path to a Piper voice file (NAME.onnx, with NAME.onnx.json beside it): that Piper voice
- "pyttsx3" / "espeak" / "portable": the portable voice with hearth's calm pick
- any espeak-ng voice name ("en-us", "English (America)", "en-us+f3"): that pyttsx3 voice
The listing hides what cannot speak here (uninstalled mbrola voices, a family that fails to load)
and says how to install what is missing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from assistant.errors import HearthError
from assistant.speech.piper import DEFAULT_VOICE, PIPER_FIX

Family = Literal["piper", "pyttsx3"]
PIPER_NAMES = frozenset({"piper", "joe", DEFAULT_VOICE.lower(), "neural"})
PYTTSX3_NAMES = frozenset({"pyttsx3", "espeak", "espeak-ng", "portable"})


@dataclass(frozen=True)
class VoiceChoice:
    """What --voice asked for: a family (None: the default), and a voice within it."""

    family: Family | None
    name: str | None = None  # a pyttsx3 voice name; None: hearth's calm pick
    model: Path | None = None  # a Piper voice file; None: en_US-joe-medium


def parse_voice(value: str | None) -> VoiceChoice:
    """Classify a --voice value without loading anything."""
    if value is None or not value.strip():
        return VoiceChoice(None)
    key = value.strip()
    if key.lower() in PIPER_NAMES:
        return VoiceChoice("piper")
    if key.lower().endswith(".onnx"):
        return VoiceChoice("piper", model=Path(key).expanduser())
    if key.lower() in PYTTSX3_NAMES:
        return VoiceChoice("pyttsx3")
    return VoiceChoice("pyttsx3", name=key)


def validate_voice(value: str | None) -> None:
    """Fail now (ConfigError with choices) for a name no family has, e.g. at `hearth setup --voice`."""
    choice = parse_voice(value)
    if choice.family == "pyttsx3" and choice.name and sys.platform.startswith("linux"):
        from assistant.speech.espeak import find_voice

        find_voice(choice.name)


def piper_problem() -> tuple[str, str] | None:
    """(reason, fix) when the default Piper voice is not installed; None when it is (not loaded)."""
    try:
        import piper  # noqa: F401
    except ImportError:
        return "Piper is not installed (the piper-tts package)", PIPER_FIX
    from assistant.speech.piper import default_model_path

    try:
        path = default_model_path()
    except HearthError as error:
        return error.message, error.fix
    if not path.is_file():
        return f"the Piper voice file {path} is missing", PIPER_FIX
    return None


def show_voices(out: TextIO = sys.stdout) -> int:
    """`hearth voices`: both families, the default marked with *, what is missing and its fix."""
    problem = piper_problem()
    print("Voices (--voice NAME; * marks the one hearth uses by default):", file=out)
    print("Piper, neural (piper-tts, GPL-3.0-or-later; voice CC0):", file=out)
    if problem is None:
        print(f" * piper         {DEFAULT_VOICE}, English (US); also --voice FILE.onnx for another Piper voice", file=out)
    else:
        print(f"   not available: {problem[0]} (fix: {problem[1]})", file=out)
    _show_pyttsx3(out, default=problem is not None)
    return 0


def _show_pyttsx3(out: TextIO, default: bool) -> None:
    from assistant.speech.pyttsx3 import CALM_VOICES, pyttsx3_problem

    print("pyttsx3, portable (espeak-ng on Linux), used when Piper is missing:", file=out)
    problem = pyttsx3_problem()
    if problem is not None:
        print(f"   not available: {problem[0]} (fix: {problem[1]})", file=out)
        return
    if not sys.platform.startswith("linux"):
        print(f" {'*' if default else ' '} pyttsx3       this system's own voices", file=out)
        return
    from assistant.speech.espeak import list_voices

    voices = [v for v in list_voices() if v.language.startswith("en") and v.usable]
    pick = next((c for c in CALM_VOICES if any(v.id == c for v in voices)), None)
    print(f" {'*' if default else ' '} pyttsx3       hearth's calm pick: {pick or 'espeak-ng default'}", file=out)
    for voice in voices:
        mark = "mbrola" if voice.mbrola else ""
        print(f"   {voice.id:24s} {voice.name:22s} {voice.language:8s} {mark}".rstrip(), file=out)
