"""The Vosk (Kaldi) recognizer behind the `Recognizer` interface.

Vosk decodes with a phrase list: libvosk turns the JSON list into a small bigram language model
over the listed words, composed at run time with the model's look-ahead graph (HCLr.fst + Gr.fst).
Three properties of that design shape this adapter, each measured on the real library:

* A bigram model can splice phrases together: with "start", "stop" and "one two three" in the list,
  Korean test speech came back as "stop stop start" or "two three one". So a result counts only if
  its words are exactly one of the phrases offered.
* Grammar words the model lacks are dropped from their phrase with only a stderr warning, which can
  turn "don't stop" into "stop". So a phrase with any unknown word is left out entirely, and
  `unknown_words` lets the app warn about it at start-up.
* The garbage word that absorbs out-of-grammar speech is model-specific ("[unk]" in the English
  models, "<UNK>" in the Korean one); it is looked up, not assumed.

A grammar too large to list (more than PHRASE_LIMIT phrases: the compiled word graph says how
many) is given to Vosk as its vocabulary instead, each word on its own plus the garbage word, and
a result counts only if it is a path of the graph (fillers left out) with no garbage in it. Speech
segments come from the shared segmenter (assistant/asr/vad.py), each decoded whole.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.asr.base import SAMPLE_RATE, Grammar, Hypothesis
from assistant.asr.vad import Segment, Segmenter, default_segmenter
from assistant.errors import ModelError
from assistant.models import vosk_model_problem

if TYPE_CHECKING:  # vosk has no type hints; at run time it is imported lazily (it loads libvosk)
    import vosk

log = logging.getLogger(__name__)

DEFAULT_MIN_CONFIDENCE = 0.7
"""Lowest per-word confidence a phrase may have (see VoskRecognizer for how 0.7 was chosen)."""

UNKNOWN_TOKENS = ("[unk]", "<UNK>", "<unk>")
"""Garbage-word spellings used by Vosk models, in the order they are tried."""

PHRASE_LIMIT = 5_000
"""Largest grammar given to Vosk as a phrase list; larger ones go as a word list (see above)."""

_SPECIAL_WORD = re.compile(r"^(#\d+|<[^>]*>|\[[^\]]*\]|!SIL)$")

_models: dict[Path, vosk.Model] = {}
_models_lock = threading.Lock()


def _import_vosk() -> Any:
    """Import vosk on first use, turning a missing or broken install into a ModelError."""
    try:
        import vosk as module
    except (ImportError, OSError) as err:
        raise ModelError(
            f"The vosk package cannot be loaded: {err}",
            fix="install it with `pip install vosk`, or run without a Vosk model (PocketSphinx)",
        ) from err
    module.SetLogLevel(-1)  # keep libvosk's warnings and errors, drop its per-call LOG chatter
    return module


def load_vosk_model(path: Path | str) -> vosk.Model:
    """Load the Vosk model in folder `path`, once per process (about 0.5 GB and seconds each time).

    Only an explicit path is accepted: `vosk.Model(lang=...)` would go to the network and can call
    sys.exit. Folders that are missing, not a model, or lack a run-time graph raise ModelError
    before libvosk sees them; a damaged model that libvosk rejects raises ModelError too.
    """
    folder = Path(path).expanduser().resolve()
    with _models_lock:
        cached = _models.get(folder)
        if cached is not None:
            return cached
        problem = vosk_model_problem(folder)
        if problem is not None:
            raise ModelError(
                f"The Vosk model folder {folder} {problem}.",
                fix="pass --model an unpacked Vosk model folder, or run `hearth model download`",
            )
        model = _construct_model(folder)
        _models[folder] = model
        return model


def _construct_model(folder: Path) -> vosk.Model:
    """Call libvosk; it reports every failure as Exception("Failed to create a model")."""
    module = _import_vosk()
    try:
        return module.Model(str(folder))
    except Exception as err:  # libvosk gives no finer error type
        raise ModelError(
            f"Vosk could not read the model in {folder} (damaged or incomplete files).",
            fix=f"delete {folder} and run `hearth model download` again, or unpack the model anew",
        ) from err


def _word_id(model: vosk.Model, word: str) -> int:
    """The model's symbol id for `word`, or -1; 0 is <eps>, so only ids above 0 are real words."""
    return int(model.vosk_model_find_word(word))


def unknown_words(model: vosk.Model, words: Iterable[str]) -> list[str]:
    """The words (in first-seen order, once each) that the model cannot recognize.

    Uses the model's own symbol table (`vosk_model_find_word`, libvosk's Model::FindWord), so the
    answer is exactly what the grammar builder will drop. Markup-like tokens ("<s>", "#0", "[unk]")
    exist in the table but are not speakable words, so they count as unknown too.
    """
    seen: set[str] = set()
    unknown: list[str] = []
    for word in words:
        if word in seen:
            continue
        seen.add(word)
        if _SPECIAL_WORD.match(word) or _word_id(model, word) <= 0:
            unknown.append(word)
    return unknown


def unknown_token(model: vosk.Model) -> str | None:
    """This model's garbage word, or None if it has none (then nothing absorbs other speech)."""
    for token in UNKNOWN_TOKENS:
        if _word_id(model, token) > 0:
            return token
    return None


def usable_phrases(model: vosk.Model, phrases: Iterable[str]) -> tuple[str, ...]:
    """The phrases whose every word the model knows, whitespace-normalised, duplicates removed."""
    split = [phrase.split() for phrase in phrases]
    unknown = set(unknown_words(model, (word for words in split for word in words)))
    kept = {" ".join(words): None for words in split if words and unknown.isdisjoint(words)}
    return tuple(kept)


class VoskRecognizer:
    """A streaming Vosk recognizer restricted to the current grammar's phrases.

    Confidence is the *minimum* of the per-word confidences: a command is only as trustworthy as its
    least certain word, and a mean would let one sure word ("stop") carry a guessed one. The default
    threshold 0.7 was measured with the Korean test model on espeak-ng speech (10 phrases, 18
    voice/speed/pitch variants each, plus 8 non-command sentences): in quiet it kept 129 of 135
    correct phrases and dropped 4 of 12 misrecognitions; with white noise at 15 dB SNR it kept 95 of
    101 correct phrases and dropped 7 of 13 misrecognitions and 5 of 10 false accepts of
    non-commands. Higher thresholds cost more correct phrases in noise (0.9 kept 86 of 101). Most
    false accepts carry confidence 1.0, so the threshold is a tidy-up, not the defence against
    conversation; re-measure with the English model on real recordings.
    """

    name = "vosk"

    def __init__(
        self,
        model: vosk.Model,
        sample_rate: int = SAMPLE_RATE,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        segmenter: Segmenter | None = None,
    ) -> None:
        self._vosk = _import_vosk()
        self._model = model
        self._sample_rate = sample_rate
        self._min_confidence = min_confidence
        self._segmenter = segmenter or default_segmenter()
        self._unk = unknown_token(model)
        self._spec: str | None = None  # the grammar, as the JSON libvosk takes
        self._grammar: Grammar | None = None
        self._phrases: frozenset[str] | None = frozenset()  # None: word-list mode
        self._offset_s = 0.0  # where the audio being decoded begins

    @property
    def phrases(self) -> frozenset[str] | None:
        """The phrases the current grammar can recognize (all words known to the model), or None
        when the grammar is too large to list and goes to Vosk as a word list."""
        return self._phrases

    def set_grammar(self, grammar: Grammar) -> None:
        """Build a recognizer for `grammar`; the open segment is dropped.

        A rebuild takes well under a millisecond (libvosk composes the graph lazily), and a fresh
        recognizer avoids libvosk's SetGrammar, which fails hard on a recognizer mid-utterance.
        """
        self._segmenter.restart()
        self._grammar = grammar
        listed = grammar.phrases(PHRASE_LIMIT)
        entries: tuple[str, ...]
        if listed is None:
            self._phrases = None
            entries = tuple(sorted(set(grammar.vocabulary) - set(unknown_words(self._model, grammar.vocabulary))))
        else:
            entries = usable_phrases(self._model, listed)
            self._phrases = frozenset(entries)
        if not entries:
            log.warning("No phrase of context %r can be recognized by this Vosk model", grammar.context)
            self._spec = None
            return
        garbage = [self._unk] if self._unk is not None else []
        self._spec = json.dumps(list(entries) + garbage, ensure_ascii=False)

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        """Feed 16-bit mono PCM; returns the phrases whose speech segments ended in this block."""
        return self._decode_all(self._segmenter.feed(pcm))

    def flush(self) -> list[Hypothesis]:
        """End of input: decode the open segment, if any."""
        return self._decode_all(self._segmenter.finish())

    def reset(self) -> None:
        """Forget the open segment (after hearth spoke); the clock keeps running."""
        self._segmenter.restart()

    def _decode_all(self, segments: list[Segment]) -> list[Hypothesis]:
        found: list[Hypothesis] = []
        for segment in segments:
            if not segment.final or segment.pcm is None or self._spec is None:
                continue
            self._offset_s = segment.audio_start_s
            # A fresh recognizer per segment: its word times then start at the segment's audio.
            recognizer = self._vosk.KaldiRecognizer(self._model, float(self._sample_rate), self._spec)
            recognizer.SetWords(True)
            recognizer.AcceptWaveform(segment.pcm)
            found.extend(self._parse(recognizer.FinalResult()))
        return found

    def _parse(self, result_json: str) -> list[Hypothesis]:
        """Turn one Vosk result into at most one hypothesis, applying every rejection rule."""
        result = json.loads(result_json)
        words = result.get("result") or []
        text = " ".join(str(result.get("text", "")).split())
        if not text or not words:
            return []
        if self._phrases is None:
            # Word-list mode: the garbage word means other speech; the rest must be a phrase.
            if self._unk is not None and self._unk in text.split():
                return []
            phrase = self._grammar.parse(text.split()) if self._grammar is not None else None
            if phrase is None:
                return []
            text = phrase
        elif text not in self._phrases:
            # Garbage alone or mixed in (the garbage word is never part of a phrase, and a command
            # said inside a longer sentence is exactly the false activation to avoid); or a bigram
            # splice of several phrases.
            return []
        confidence = min(float(w.get("conf", 0.0)) for w in words)
        if confidence < self._min_confidence:
            return []
        start = self._offset_s + float(words[0]["start"])
        end = self._offset_s + float(words[-1]["end"])
        return [Hypothesis(text=text, confidence=confidence, start_s=start, end_s=end)]
