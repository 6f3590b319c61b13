"""espeak-ng's command line: its voice list, and speech rendered straight into memory.

`synthesize_to_array()` makes the synthetic speech that tests and benchmarks speak into the virtual
microphone (tests/live_harness.py, scripts/bench_asr.py, bench_latency.py, fa_study.py). The voice
list serves the pyttsx3 family: pyttsx3 silently ignores voice names it does not know, so names are
checked here against what espeak-ng really has, and uninstalled mbrola voices are refused.
Listing uses the command line rather than pyttsx3, so it needs no engine (a second pyttsx3 engine in
one process would steal the running one's synthesis callback).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from assistant.errors import ConfigError, DeviceError

INSTALL_FIX = "install the speech synthesizer: sudo apt-get install espeak-ng libespeak-ng1"
DEFAULT_CLI_RATE = 145
"""espeak-ng's own rate setting for test speech (its scale, not hearth's --rate)."""

_ESPEAK_DATA_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data"),
    Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data"),
    Path("/usr/share/espeak-ng-data"),
    Path("/usr/local/share/espeak-ng-data"),
)
_MBROLA_DIRS = (Path("/usr/share/mbrola"), Path("/usr/local/share/mbrola"))


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice; `id` is its file name, accepted by both pyttsx3 and the espeak-ng CLI."""

    id: str
    name: str
    language: str
    gender: str
    mbrola: bool
    other_languages: tuple[str, ...] = ()

    def names(self) -> set[str]:
        """Every spelling resolve_voice() accepts for this voice (lower case)."""
        file_name = self.id.rsplit("/", 1)[-1]
        return {self.id.lower(), file_name.lower(), self.name.lower(), self.language.lower()}

    @property
    def usable(self) -> bool:
        """mbrola voices are listed even when the mbrola program and its voice data are missing."""
        return not self.mbrola or _mbrola_installed(self.id)

    @property
    def sample_rate(self) -> int:
        """espeak voices render at 22050 Hz, mbrola ones at 16000 Hz."""
        return 16_000 if self.mbrola else 22_050


def _mbrola_installed(voice_id: str) -> bool:
    base = voice_id.rsplit("/", 1)[-1].removeprefix("mb-")
    return shutil.which("mbrola") is not None and any((d / base).exists() for d in _MBROLA_DIRS)


def list_voices() -> list[Voice]:
    """Every voice espeak-ng knows (from `espeak-ng --voices`)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DeviceError("espeak-ng is not installed", INSTALL_FIX)
    voices: list[Voice] = []
    for which in ("--voices", "--voices=mb"):  # plain --voices leaves out the mbrola voices
        out = subprocess.run([exe, which], capture_output=True, text=True, timeout=20, check=False).stdout
        voices.extend(_parse_voice_line(line) for line in out.splitlines()[1:] if len(line.split()) >= 5)
    return voices


def _parse_voice_line(line: str) -> Voice:
    """One row of `espeak-ng --voices`: Pty Language Age/Gender VoiceName File (Other Languages)."""
    parts = line.split()
    gender = {"M": "male", "F": "female"}.get(parts[2].rpartition("/")[2], "")
    others = tuple(re.findall(r"\((\S+) \d+\)", line))
    voice_id = parts[4]
    return Voice(voice_id, parts[3].replace("_", " "), parts[1], gender, voice_id.startswith("mb/"), others)


def _variants() -> set[str]:
    for d in _ESPEAK_DATA_DIRS:
        v = d / "voices" / "!v"
        if v.is_dir():
            return {p.name.lower() for p in v.iterdir()}
    return set()


def _voice_error(name: str, voices: list[Voice], why: str) -> ConfigError:
    order = {"en-us": 0, "en-gb": 1}
    english = sorted(
        (v for v in voices if v.usable and v.language.startswith("en")), key=lambda v: order.get(v.language, 2)
    )
    sample = ", ".join(f"{v.language} ({v.name})" for v in english[:6])
    return ConfigError(
        f"{why}: '{name}'",
        f"pick piper, or one of e.g. {sample}, optionally with a variant like 'en-us+f3'; `hearth voices` lists all",
    )


def find_voice(name: str, voices: list[Voice] | None = None) -> tuple[Voice, str]:
    """(the voice, the id to give espeak) for a name; ConfigError with choices when unknown.

    Accepts an id ("gmw/en-US"), a language ("en-us") or a name ("English (America)"), case-insensitive,
    optionally with "+variant" ("en-us+f3").
    """
    voices = list_voices() if voices is None else voices
    base, _, variant = name.strip().partition("+")
    key = base.lower().replace("_", " ")
    # Exact spellings first; then voices that list the language among their others ("en" -> en-gb).
    match = next((v for v in voices if key in v.names()), None) or next(
        (v for v in voices if key in v.other_languages and v.usable), None
    )
    if match is None:
        raise _voice_error(name, voices, "unknown voice")
    if not match.usable:
        raise _voice_error(name, voices, "this mbrola voice is not installed (needs the mbrola package)")
    if variant and variant.lower() not in _variants():
        raise _voice_error(name, voices, f"unknown voice variant '{variant}'")
    return match, (f"{match.id}+{variant}" if variant else match.id)


def resolve_voice(name: str | None, voices: list[Voice] | None = None) -> str | None:
    """Validate an espeak-ng voice name and return its id (None: no name given)."""
    if name is None or not name.strip():
        return None
    return find_voice(name, voices)[1]


def _parse_stream_wav(blob: bytes) -> tuple[NDArray[np.int16], int]:
    """espeak-ng --stdout writes a streaming WAV whose size fields are placeholders; read it anyway."""
    if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise DeviceError("espeak-ng produced no audio", INSTALL_FIX)
    rate = int.from_bytes(blob[24:28], "little")
    data = blob.find(b"data", 12)
    samples = np.frombuffer(blob[data + 8 : len(blob) - (len(blob) - data - 8) % 2], dtype="<i2")
    return samples.astype(np.int16), rate


def synthesize_to_array(
    text: str, voice: str | None = None, rate: int = DEFAULT_CLI_RATE, volume: float = 1.0
) -> tuple[NDArray[np.int16], int]:
    """Speak `text` with the espeak-ng command line into (mono int16 samples, sample rate).

    `rate` is espeak-ng's own setting. The sample rate comes from the WAV espeak-ng writes, so it is
    right for every voice (22050 Hz for espeak voices, 16000 Hz for mbrola ones). `voice` is passed as
    is (use resolve_voice() to validate names). Text goes in on stdin, so it is never an option.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DeviceError("espeak-ng is not installed", INSTALL_FIX)
    args = [exe, "--stdout", "-b", "1", "-s", str(int(rate)), "-a", str(round(volume * 100))]
    args += ["-v", voice] if voice else []
    proc = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"espeak-ng failed: {msg[0] if msg else proc.returncode}", "check the voice name")
    return _parse_stream_wav(proc.stdout)
