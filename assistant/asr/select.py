"""Choosing the recognition engine: Vosk when a model is present, else the built-in PocketSphinx."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import ConfigError, ContentError
from ..intents import IntentSet
from ..models import find_vosk_model
from .base import Recognizer

log = logging.getLogger("hearth")

ENGINES = ("auto", "vosk", "pocketsphinx")
UnknownWords = Callable[[Iterable[str]], list[str]]
UPGRADE_HINT = "for better accuracy in noise, run `hearth model download` once (Vosk, about 40 MB)"


def open_recognizer(engine: str, model: Path | None, intents: IntentSet) -> tuple[Recognizer, str]:
    """The recognizer to use and a one-line description of the choice (said once at start-up)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine '{engine}'", f"use one of: {', '.join(ENGINES)}")
    vosk_path = find_vosk_model(model) if engine in ("auto", "vosk") else None
    if engine == "vosk" and vosk_path is None:
        raise ConfigError("--engine vosk needs a Vosk model and none was found", "run `hearth model download`, or pass --model PATH")
    if vosk_path is not None:
        from .vosk_engine import VoskRecognizer, load_vosk_model, unknown_words

        vosk_model = load_vosk_model(vosk_path)
        warn_unknown_words(intents, lambda words: unknown_words(vosk_model, words))
        return VoskRecognizer(vosk_model), f"speech recognition: Vosk ({vosk_path.name})"
    from .pocketsphinx_engine import PocketSphinxRecognizer

    recognizer = PocketSphinxRecognizer()
    require_known_words(intents, recognizer.unknown_words)
    note = "" if engine == "pocketsphinx" else f"; {UPGRADE_HINT}"
    return recognizer, f"speech recognition: PocketSphinx (built in){note}"


def require_known_words(intents: IntentSet, unknown: UnknownWords) -> None:
    """PocketSphinx cannot compile a grammar with a word outside its dictionary: say which and where."""
    wake = unknown(intents.wake_name.split())
    if wake:
        raise ContentError(f"the wake name '{intents.wake_name}' is not a word the recognizer knows", "choose another with --wake-name (a common English word)")
    for intent in intents.intents:
        missing = unknown(sorted({w for p in intents.intent_phrases(intent) for w in p.split()}))
        if missing:
            raise ContentError(f"{intent.where}: intent '{intent.name}' uses {', '.join(missing)}, which the recognizer does not know", "use other words in that template")


def warn_unknown_words(intents: IntentSet, unknown: UnknownWords) -> None:
    """Name the intent file and phrase for every template word the model cannot recognize."""
    for intent in intents.intents:
        phrases = intents.intent_phrases(intent)
        missing = set(unknown(sorted({w for p in phrases for w in p.split()})))
        for phrase in phrases:
            bad = [w for w in phrase.split() if w in missing]
            if bad:
                log.warning("%s: the model does not know %s in '%s'; that phrase cannot be recognized", intent.where, ", ".join(bad), phrase)
                break


