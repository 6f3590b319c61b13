"""Choosing the recognition engine, in the order measured best first (BENCHMARKS.md):

1. Whisper tiny.en, held to the grammar, where its model and runtime are installed;
2. Vosk, where a Vosk model is present;
3. PocketSphinx with the English model inside its wheel, which always works.

`--engine auto` takes the first that loads; anything that stops a better engine (a missing or
damaged model, a runtime that fails to import) is said in one line with its fix, and the next
engine is used. Naming an engine (`--engine whisper`) makes its failure an error instead: a
measurement or a deliberate choice must never silently run something else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ContentError, HearthError, ModelError
from ..intents import IntentSet
from ..models import find_vosk_model
from .base import Recognizer
from .whisper_model import find_whisper_model, looks_like_whisper

log = logging.getLogger("hearth")

ENGINES = ("auto", "whisper", "vosk", "pocketsphinx")
ORDER = ("whisper", "vosk", "pocketsphinx")
UnknownWords = Callable[[Iterable[str]], list[str]]


@dataclass(frozen=True)
class Choice:
    """Which engine runs and why, and why each better one does not."""

    engine: str
    reason: str
    model: Path | None = None
    passed_over: tuple[str, ...] = field(default=())  # one line each: engine, why, fix

    def lines(self) -> list[str]:
        out = [f"engine: {self.engine}", f"why: {self.reason}"]
        if self.model is not None:
            out.append(f"model: {self.model}")
        out.extend(f"not used: {line}" for line in self.passed_over)
        return out


def _split_model(model: Path | None) -> tuple[Path | None, Path | None]:
    """--model names a Whisper folder or a Vosk folder; tell which by what is inside."""
    if model is None:
        return None, None
    if looks_like_whisper(Path(model).expanduser()):
        return Path(model), None
    return None, Path(model)


def choose(engine: str = "auto", model: Path | None = None) -> Choice:
    """Decide without loading anything heavy (for `hearth model status` and `hearth doctor`)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine '{engine}'", f"use one of: {', '.join(ENGINES)}")
    whisper_dir, vosk_dir = _split_model(model)
    passed: list[str] = []
    for candidate in ORDER if engine == "auto" else (engine,):
        try:
            if candidate == "whisper":
                found = find_whisper_model(whisper_dir)
                if found is None:
                    raise ModelError("no Whisper model is installed", "run `bash scripts/setup.sh`, or `hearth model download whisper`")
                _check_whisper_runtime()
                return Choice("whisper", f"Whisper tiny.en held to the grammar (model from {found.origin})", found.path, tuple(passed))
            if candidate == "vosk":
                path = find_vosk_model(vosk_dir)
                if path is None:
                    raise ModelError("no Vosk model was given or found", "run `hearth model download vosk`, or pass --model DIR")
                _check_vosk_runtime()
                return Choice("vosk", "Vosk model found", path, tuple(passed))
            _check_pocketsphinx_runtime()
            return Choice("pocketsphinx", "PocketSphinx with its bundled English model (built in)", None, tuple(passed))
        except HearthError as error:
            if engine != "auto":
                raise
            passed.append(f"{candidate}: {error.message} (fix: {error.fix})" if error.fix else f"{candidate}: {error.message}")
    raise ModelError("no speech recognizer can run here: " + "; ".join(passed), "run `bash scripts/setup.sh` to install the engines")


def _check_whisper_runtime() -> None:
    try:
        import ctranslate2  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as error:
        raise ModelError(f"the Whisper runtime cannot be imported ({error})", "pip install ctranslate2 tokenizers (scripts/setup.sh does)") from error


def _check_vosk_runtime() -> None:
    try:
        import vosk  # noqa: F401
    except (ImportError, OSError) as error:
        raise ModelError(f"the vosk package cannot be loaded ({error})", "pip install vosk") from error


def _check_pocketsphinx_runtime() -> None:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError as error:
        raise ModelError(f"pocketsphinx cannot be imported ({error})", "pip install pocketsphinx") from error


def open_recognizer(engine: str, model: Path | None, intents: IntentSet) -> tuple[Recognizer, str]:
    """The recognizer to use and a one-line description of the choice (said once at start-up).
    With `auto`, an engine that fails while loading is passed over like one that is missing."""
    if engine != "auto":
        choice = choose(engine, model)
        return load(choice, intents), f"speech recognition: {choice.reason}"
    passed: list[str] = []
    for candidate in ORDER:
        try:
            choice = choose(candidate, model)
            recognizer = load(choice, intents)
        except HearthError as error:
            passed.append(f"{candidate}: {error.message}" + (f" (fix: {error.fix})" if error.fix else ""))
            continue
        lines = [f"speech recognition: {choice.reason}"] + [f"  not {line}" for line in passed]
        return recognizer, "\n".join(lines)
    raise ModelError("no speech recognizer can run here: " + "; ".join(passed), "run `bash scripts/setup.sh` to install the engines")


def slower_engine_fallback(current: str, model: Path | None, intents: IntentSet) -> tuple[Recognizer, str] | None:
    """The next engine after `current` that loads, for a computer too slow for `current`, and a
    line saying so; None when there is no lighter engine left."""
    for candidate in ORDER[ORDER.index(current) + 1 :] if current in ORDER else ():
        try:
            choice = choose(candidate, model)
            return load(choice, intents), choice.reason
        except HearthError:
            continue
    return None


def load(choice: Choice, intents: IntentSet) -> Recognizer:
    """Load the chosen engine (seconds for Whisper and Vosk) and check the grammar's words."""
    if choice.engine == "whisper":
        from .vad import default_segmenter, SegmenterSettings
        from .whisper_engine import WhisperRecognizer, WhisperRuntime
        from .whisper_model import WhisperModel

        assert choice.model is not None
        longest = max(intents.grammar(context).graph.longest for context in ("idle", "prompt", "turn"))
        segmenter = default_segmenter(SegmenterSettings(max_s=max(4.0, 0.5 * longest + 1.0)))
        return WhisperRecognizer(WhisperRuntime(WhisperModel(choice.model, choice.reason)), segmenter)
    if choice.engine == "vosk":
        from .vosk_engine import VoskRecognizer, load_vosk_model, unknown_words

        assert choice.model is not None
        vosk_model = load_vosk_model(choice.model)
        warn_unknown_words(intents, lambda words: unknown_words(vosk_model, words))
        return VoskRecognizer(vosk_model)
    from .pocketsphinx_engine import PocketSphinxRecognizer

    recognizer = PocketSphinxRecognizer()
    require_known_words(intents, recognizer.unknown_words)
    return recognizer


def require_known_words(intents: IntentSet, unknown: UnknownWords) -> None:
    """PocketSphinx cannot compile a grammar with a word outside its dictionary: say which and where."""
    wake = unknown(intents.wake_name.split())
    if wake:
        raise ContentError(f"the wake name '{intents.wake_name}' is not a word the recognizer knows", "choose another with --wake-name (a common English word)")
    for intent in intents.intents:
        missing = unknown(intents.intent_vocabulary(intent))
        if missing:
            raise ContentError(f"{intent.where}: intent '{intent.name}' uses {', '.join(missing)}, which the recognizer does not know", "use other words in that template")


def warn_unknown_words(intents: IntentSet, unknown: UnknownWords) -> None:
    """Name the intent file for every template word the model cannot recognize."""
    for intent in intents.intents:
        missing = unknown(intents.intent_vocabulary(intent))
        if missing:
            log.warning("%s: the model does not know %s; phrases with it cannot be recognized", intent.where, ", ".join(missing))
