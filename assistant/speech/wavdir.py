"""`--tts-to DIR`: each utterance becomes DIR/NNNN.wav, exactly what the speaker would have played.

An AudioOutput for StreamingSpeaker, so the files hold the same voice, pace, pauses, volume and
soft gain as the sound device would get. Numbering continues after the files already there, and
DIR/transcript.tsv gets one line per file: file name, utterance id, text. With `realtime=True`
blocks take as long as they would to play (stop() cuts in between), so a session driven by a
replayed microphone keeps its real timing. A stopped utterance keeps what was "heard" until then.
"""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from assistant.errors import ConfigError
from assistant.speech.base import Audio


def write_wav(path: Path, samples: NDArray[np.int16], rate: int) -> None:
    """Write mono int16 samples as a PCM WAV with a correct header."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2").tobytes())


class WavDirOutput:
    """Collects each utterance's blocks and writes them as one numbered WAV file."""

    def __init__(self, directory: Path | str, *, realtime: bool = False) -> None:
        self.directory = Path(directory)
        self.realtime = realtime
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {self.directory}: {exc.strerror}", "pick a writable --tts-to folder") from exc
        existing = [int(p.stem) for p in self.directory.glob("[0-9][0-9][0-9][0-9]*.wav") if p.stem.isdigit()]
        self._counter = max(existing, default=0)
        self.files: list[Path] = []
        self._current: tuple[int, str, int] | None = None
        self._blocks: list[Audio] = []

    def begin(self, utterance_id: int, text: str, rate: int) -> None:
        """Start collecting an utterance."""
        self._current = (utterance_id, text, rate)
        self._blocks = []

    def write(self, block: Audio) -> None:
        """Keep the block; in real time, take as long as it would sound."""
        self._blocks.append(block.copy())
        if self.realtime and self._current is not None:
            time.sleep(block.size / self._current[2])

    def end(self) -> None:
        """Write the file."""
        self._save()

    def abort(self) -> None:
        """Write what was played until the stop."""
        self._save()

    def idle(self) -> None:
        """Nothing is held open."""

    def close(self) -> None:
        """Nothing is held open."""

    def _save(self) -> None:
        if self._current is None:
            return
        utterance_id, text, rate = self._current
        self._current = None
        audio = np.concatenate(self._blocks) if self._blocks else np.zeros(0, dtype=np.float32)
        self._counter += 1
        path = self.directory / f"{self._counter:04d}.wav"
        write_wav(path, np.rint(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16), rate)
        with open(self.directory / "transcript.tsv", "a", encoding="utf-8") as f:
            f.write(f"{path.name}\t{utterance_id}\t{' '.join(text.split())}\n")
        self.files.append(path)
