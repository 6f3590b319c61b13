"""The speaker the command line asked for: the composition root of speech output.

Order matters for the couple: the sound device is checked first (cheap, and without one nothing
else matters), then the voice: Piper where installed, else pyttsx3 with a one-line notice naming
the fix. A failure of both gives a DeviceError, which the callers turn into one line and printed
prompts (`speaker_or_printer`). Never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from assistant.errors import ConfigError, HearthError, ModelError
from assistant.speech.base import DEFAULT_RATE_WPM, DEFAULT_VOLUME, Speaker, Synthesizer, check_rate_volume
from assistant.speech.playback import AudioOutput, SoundDeviceOutput
from assistant.speech.printer import PrintSpeaker
from assistant.speech.streaming import StreamingSpeaker
from assistant.speech.voices import parse_voice
from assistant.speech.wavdir import WavDirOutput


def notice(message: str, fallback: str, fix: str, stream: TextIO | None = None) -> None:
    """One line: what is wrong, what hearth does instead, and the fix."""
    line = f"hearth: {message}; {fallback}" + (f" (fix: {fix})" if fix else "")
    print(line, file=stream if stream is not None else sys.stderr, flush=True)


def open_synthesizer(voice: str | None, rate: int, notices: TextIO | None = None) -> Synthesizer:
    """Piper unless --voice names a pyttsx3 voice; pyttsx3, with a notice, when Piper cannot load."""
    choice = parse_voice(voice)
    if choice.family in (None, "piper"):
        from assistant.speech.piper import PiperSynthesizer

        try:
            return PiperSynthesizer(choice.model, rate)
        except ModelError as error:
            notice(error.message, "speaking with the portable voice (pyttsx3) instead", error.fix, notices)
        except ImportError as error:  # piper-tts itself half-installed
            notice(f"Piper cannot load ({error})", "speaking with the portable voice (pyttsx3) instead", "", notices)
    from assistant.speech.pyttsx3 import Pyttsx3Synthesizer

    return Pyttsx3Synthesizer(choice.name, rate)


def create_speaker(
    *,
    mute: bool = False,
    tts_to: Path | None = None,
    voice: str | None = None,
    rate: int = DEFAULT_RATE_WPM,
    volume: float = DEFAULT_VOLUME,
    output_device: str | int | None = None,
    text_stream: TextIO | None = None,
    notices: TextIO | None = None,
) -> Speaker:
    """--mute prints, --tts-to DIR writes WAV files, otherwise the sound device plays.

    Raises ConfigError for a bad voice, rate or volume, and DeviceError (with the fix) when no
    speaker or no voice works here.
    """
    check_rate_volume(rate, volume)
    if mute:
        return PrintSpeaker(text_stream if text_stream is not None else sys.stdout)
    output: AudioOutput = WavDirOutput(tts_to) if tts_to is not None else SoundDeviceOutput(output_device)
    try:
        synthesizer = open_synthesizer(voice, rate, notices)
    except BaseException:
        output.close()
        raise
    return StreamingSpeaker(synthesizer, output, rate=rate, volume=volume, notices=notices)


def speaker_or_printer(
    *,
    tts_to: Path | None,
    voice: str | None,
    rate: int,
    volume: float,
    output_device: str | int | None,
    notices: TextIO | None = None,
) -> tuple[Speaker, str]:
    """(speaker, description) for a session; a printing speaker with a one-line notice when none works.

    Bad settings (an unknown voice, a rate out of range) are the couple's to fix and still raise.
    """
    try:
        speaker = create_speaker(tts_to=tts_to, voice=voice, rate=rate, volume=volume, output_device=output_device,
                                 notices=notices)
    except ConfigError:
        raise
    except HearthError as error:
        notice(error.message, "printing prompts instead", error.fix, notices)
        return PrintSpeaker(), "voice: none (prompts are printed)"
    return speaker, getattr(speaker, "description", "")
