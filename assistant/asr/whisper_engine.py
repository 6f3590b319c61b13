"""Whisper tiny.en behind the `Recognizer` interface, held to the live grammar.

Per speech segment (from the shared segmenter, assistant/asr/vad.py):

1. CTranslate2 encodes the audio (a window cut to the segment, padded to `window_s`).
2. The decoder writes its own best transcript (greedy, free). If that transcript, normalized and
   with fillers left out, is a phrase of the live grammar, it is the answer.
3. Otherwise a beam search held to the grammar (token_graph.py) finds the best phrase, and it is
   accepted only if its mean log-probability per token is within the context's margin of the free
   transcript's, and the two share enough words: speech that really was a command scores about
   the same either way, conversation forced into a command shape scores far lower. The margins
   were calibrated per context on the tuning half of the measurement material
   (scripts/calibrate_whisper.py, scripts/fit_whisper_rule.py) and are reported on the other half
   (scripts/bench_asr.py).
4. A segment the model itself calls empty (no-speech probability above `max_no_speech`) is dropped.
5. Decisions are made early and held while a phrase could go on (endpoint.py).

The free transcript never leaves this module: it is compared and forgotten, never logged or
stored. What comes out is only ever a phrase of the live grammar.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from ..grammar import compile_phrases
from ..templates import normalize
from .base import SAMPLE_RATE, Grammar, Hypothesis
from .beam import Decoded, Search, Start, begin, constrained, greedy
from .compare import name_misheard_before, says_more, word_distance
from .endpoint import Decision, Endpointer
from .features import log_mel
from .token_graph import TokenGraph
from .vad import Segment, Segmenter
from .whisper_decoder import Cache, WhisperDecoder
from .whisper_model import DOWNLOAD_FIX, WhisperModel

RUNTIME_FIX = "install it: pip install ctranslate2 tokenizers (scripts/setup.sh does)"


class WhisperRuntime:
    """The loaded model: CTranslate2's encoder, hearth's decoder graph (onnxruntime), the tokenizer."""

    def __init__(self, model: WhisperModel, threads: int = 2) -> None:
        try:
            import ctranslate2
            import tokenizers
        except ImportError as error:
            raise ModelError(f"the Whisper runtime cannot be imported ({error})", RUNTIME_FIX) from error
        self._ctranslate2 = ctranslate2
        self.decoder = WhisperDecoder(model.path / "model.bin")  # first: the peak of its loading comes while the process is small
        try:
            self.encoder: Any = ctranslate2.models.Whisper(str(model.path), device="cpu", compute_type="int8", intra_threads=threads)
            self.tokenizer: Any = tokenizers.Tokenizer.from_file(str(model.path / "tokenizer.json"))
            config = json.loads((model.path / "config.json").read_text(encoding="utf-8"))
        except (RuntimeError, ValueError, OSError, json.JSONDecodeError) as error:
            raise ModelError(f"the Whisper model in {model.path} cannot be loaded ({error})", DOWNLOAD_FIX) from error
        self.model = model
        self.end_of_text = self._special("<|endoftext|>")
        self.prompt = (self._special("<|startoftranscript|>"), self._special("<|notimestamps|>"))
        self.no_speech = self._special("<|nocaptions|>")
        allowed = np.zeros(self.decoder.vocabulary_size, dtype=bool)
        allowed[: self.end_of_text + 1] = True
        allowed[[i for i in config.get("suppress_ids", []) if 0 <= i < allowed.size]] = False
        self.free_tokens = allowed
        self._spellings: dict[str, tuple[int, ...]] = {}
        self.sentence_ends = frozenset(t for mark in (".", "?", "!") for t in self.encode_text(mark)[:1])
        # The constrained search runs beside the free transcript where there is a core for it (beam.Search).
        self.search_pool = ThreadPoolExecutor(1, thread_name_prefix="hearth-search") if (os.cpu_count() or 1) >= 2 else None
        _one_blas_thread()

    def _special(self, name: str) -> int:
        token = self.tokenizer.token_to_id(name)
        if token is None:
            raise ModelError(f"the Whisper tokenizer has no {name}", DOWNLOAD_FIX)
        return int(token)

    def encode_text(self, text: str) -> tuple[int, ...]:
        cached = self._spellings.get(text)
        if cached is None:
            cached = self._spellings[text] = tuple(self.tokenizer.encode(text, add_special_tokens=False).ids)
        return cached

    def text_of(self, tokens: tuple[int, ...]) -> str:
        return str(self.tokenizer.decode([t for t in tokens if t < self.end_of_text]))

    def encode_audio(self, audio: NDArray[np.float32]) -> NDArray[np.float32]:
        features = log_mel(audio)[None]
        encoded = self.encoder.encode(self._ctranslate2.StorageView.from_array(np.ascontiguousarray(features)), to_cpu=True)
        result: NDArray[np.float32] = np.asarray(encoded, dtype=np.float32)[0]
        return result


def _one_blas_thread() -> None:
    """What is still multiplied in numpy (the audio's cross-attention keys, the mel features) is
    small: one BLAS thread is as fast on an idle machine, and far faster on a busy one (OpenBLAS's
    spinning threads then fight CTranslate2's and onnxruntime's)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class WhisperSettings:
    beam_width: int = 4
    length_bonus: float | None = None  # see beam.constrained
    # Pad shorter segments with silence up to this length: Whisper was trained on 30 s windows, and
    # on a window cut to a one-second command it rarely ends, repeating the command instead; five
    # seconds ends it (measured: the free transcript ends in 92% of short commands, against 76%
    # unpadded) at a fraction of the cost of thirty.
    window_s: float = 5.0
    tail_pad_s: float = 0.2  # silence added after every segment
    max_no_speech: float = 0.7
    hold_s: float = 0.6  # how long a decision that could go on waits for more speech (endpoint.py)
    # How far below the free transcript's mean log-probability per token a grammar phrase may score
    # and still be accepted, per context; `noisy_margins` apply when the speech stood less than
    # `noisy_below_db` over the room's noise floor (someone else talking nearby), where the free
    # transcript itself is unreliable. Chosen with scripts/fit_whisper_rule.py on the tuning half
    # (scripts/calibrate_whisper.py): the largest margins that kept the tuning half's ordinary
    # talk from triggering and wrong actions rare; BENCHMARKS.md reports the held-out half.
    margins: Mapping[str, float] = field(default_factory=lambda: {"idle": 1.5, "prompt": 1.0, "confirm": 1.0, "turn": 1.5})
    noisy_margins: Mapping[str, float] = field(default_factory=lambda: {"idle": 1.5, "prompt": 1.0, "confirm": 1.0, "turn": 2.0})
    noisy_below_db: float = 20.0
    default_margin: float = 1.0
    # A grammar phrase that shares too few words with what the model freely heard is not accepted
    # (word edit distance per phrase word).
    max_word_distance: float = 1.5
    # In a quiet room, where the free transcript can be trusted, a bare phrase (no wake name) that
    # it holds word for word among this many more words is part of a sentence, not said to hearth
    # (0: no such check). Addressed phrases are exempt: "juniper, pause for a sec" is for hearth.
    max_extra_words: int = 2
    # In a quiet room, a phrase that has not one word in common with what the model freely heard
    # is accepted only if the model itself finds it likely (mean log-probability per token at least
    # this): a single word said at the table ("two", "off", "dog") had been forced into a short
    # command ("i'm done", "that's all") at -1.8 to -2.7. On the tuning half the right commands
    # with no word in common scored -0.75 and -1.3 ("give us a topic" freely heard as other words).
    # In noise the free transcript is unreliable and the rule is off.
    unrelated_min_logprob: float = -1.5
    # The wake name heard as other words in front of a bare command (see _misheard_name): up to
    # this many words per word of the name, and the addressed phrase, scored on the same audio, at
    # most this much below the bare one (mean log-probability per token; None: no such check). On
    # the tuning voices (espeak-ng, 312 addressed commands in a quiet room while a prompt waits)
    # the addressed phrase scored 0.46 below the bare one at worst, and this took right commands
    # from 261 to 286, with no segment of the tuning half's talk or read speech affected.
    misheard_name_words: int = 3
    misheard_name_margin: float | None = 0.5
    # However it compares with the free transcript, a phrase the model itself finds this unlikely
    # (mean log-probability per token; -3 is under 5% a token) is not what was said. On the tuning
    # evidence no right command scored below -2.6; a LibriSpeech sentence forced into "let's start
    # a twenty minute conversation" scored -4.5.
    min_logprob: float = -3.0


@dataclass(frozen=True)
class Evidence:
    """What one decision was based on, for measurement and calibration: scores and counts only,
    never the free transcript's words."""

    context: str
    start_s: float
    end_s: float
    above_floor_db: float
    no_speech: float
    free_logprob: float
    free_tokens: int
    free_parsed: bool  # the free transcript itself was a grammar phrase
    constrained_logprob: float | None
    constrained_tokens: int
    word_distance: float  # word edit distance from the free transcript to the constrained phrase, per phrase word
    phrase: str | None  # the grammar phrase the decision was about (accepted or not)
    accepted: bool
    compute_s: float


STEP_SAMPLES = SAMPLE_RATE // 2
"""Windows longer than `window_s` grow in half seconds, so a long evening meets a handful of input
shapes instead of one per segment length (inference runtimes may keep work per input shape; the
soak in BENCHMARKS.md measures what memory does over hours)."""


class WhisperRecognizer:
    """Grammar-held Whisper recognizer (implements `Recognizer`)."""

    name = "whisper"

    def __init__(self, runtime: WhisperRuntime, segmenter: Segmenter, settings: WhisperSettings | None = None, *, measure_both: bool = False) -> None:
        self.runtime = runtime
        self.segmenter = segmenter
        self.settings = settings or WhisperSettings()
        self.measure_both = measure_both  # also run the constrained search when the free text parsed
        self.keep_evidence = False  # measuring: keep each decision's Evidence in `evidence`
        self._grammar: Grammar | None = None
        self._graphs: dict[int, TokenGraph] = {}
        self._endpointer = Endpointer(self._decide, lambda: self.segmenter.clock_s, lambda: self.segmenter.speech_since, self.settings.hold_s)

    @property
    def evidence(self) -> list[Evidence]:
        return self._endpointer.evidence

    def set_grammar(self, grammar: Grammar) -> None:
        self._grammar = grammar
        self.segmenter.restart()
        self._endpointer.reset()

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        return self._endpointer.handle(self.segmenter.feed(pcm))

    def flush(self) -> list[Hypothesis]:
        return self._endpointer.handle(self.segmenter.finish()) + self._endpointer.finish()

    def reset(self) -> None:
        self.segmenter.restart()
        self._endpointer.reset()

    def _token_graph(self, grammar: Grammar) -> TokenGraph:
        graph = self._graphs.get(id(grammar.graph))
        if graph is None:
            graph = self._graphs[id(grammar.graph)] = TokenGraph(grammar.graph, self.runtime.encode_text, self.runtime.end_of_text)
        return graph

    def _misheard_name(self, keys: Cache, start: Start, grammar: Grammar, heard: list[str], bare: Decoded, phrase: list[str]) -> Decoded | None:
        """The addressed phrase, scored on this audio, when the free transcript may have heard the
        wake name as other words in front of a bare command (compare.name_misheard_before): that
        decoding where the model finds it about as likely as the bare phrase, else None.

        In a quiet room a bare command that the free transcript holds after a few other words is
        taken for part of a sentence. But those words can be the name itself, heard wrong ("joo did
        her, that's all from me"), and the search then often prefers the bare phrase: a name the
        model finds unlikely lowers the addressed phrase's mean, or drops it from the beam early."""
        settings = self.settings
        if settings.misheard_name_margin is None or not name_misheard_before(heard, phrase, list(grammar.wake_name), settings.misheard_name_words):
            return None
        addressed = " ".join([*grammar.wake_name, *phrase])
        graph = TokenGraph(compile_phrases([addressed]), self.runtime.encode_text, self.runtime.end_of_text)  # one phrase: cheap, and not kept
        scored = constrained(self.runtime.decoder, keys, start, graph, 2)
        if scored is None or scored.mean_logprob < bare.mean_logprob - settings.misheard_name_margin:
            return None
        return scored

    def _decide(self, segment: Segment) -> Decision:
        """Decode one segment."""
        if self._grammar is None or segment.pcm is None:
            return Decision(None, False, 0.0)
        clock = time.perf_counter()
        grammar, settings, runtime = self._grammar, self.settings, self.runtime
        audio = np.frombuffer(segment.pcm, dtype="<i2").astype(np.float32) / 32768.0
        length = max(audio.size + int(settings.tail_pad_s * SAMPLE_RATE), int(settings.window_s * SAMPLE_RATE))
        length = -(-length // STEP_SAMPLES) * STEP_SAMPLES  # few distinct shapes: the encoder keeps work per shape
        audio = np.concatenate([audio, np.zeros(length - audio.size, dtype=np.float32)])
        keys = runtime.decoder.audio_keys(runtime.encode_audio(audio))
        start = begin(runtime.decoder, keys, runtime.prompt, runtime.no_speech)
        graph = self._token_graph(grammar)
        search = Search(lambda stop: constrained(runtime.decoder, keys, start, graph, settings.beam_width, settings.length_bonus, stop), runtime.search_pool)
        try:
            free = greedy(runtime.decoder, keys, start, runtime.free_tokens, runtime.end_of_text, graph.longest_tokens + 8, runtime.sentence_ends)
        except BaseException:
            search.cancel()
            raise
        free_words = normalize(runtime.text_of(free.tokens))
        phrase = grammar.parse(free_words) if free.finished else None
        if phrase is None and free.finished and start.no_speech <= settings.max_no_speech:
            elsewhere = grammar.parse_outside(free_words)  # said to hearth exactly, but not live now
            if elsewhere is not None:
                search.cancel()
                compute = time.perf_counter() - clock
                confidence = round(float(np.exp(free.mean_logprob)), 3)
                return Decision(Hypothesis(elsewhere, confidence, segment.start_s, segment.end_s, live=False), False, compute)
        best: Decoded | None = None
        if phrase is None or self.measure_both:
            best = search.result()
        else:
            search.cancel()
        best_words = normalize(runtime.text_of(best.tokens)) if best is not None else []
        distance = word_distance(free_words, best_words) if best is not None else 1.0
        noisy = segment.above_floor_db < settings.noisy_below_db
        margins = settings.noisy_margins if noisy else settings.margins
        margin = margins.get(grammar.context, settings.default_margin)
        accepted = phrase
        close = best is not None and best.mean_logprob >= free.mean_logprob - margin and distance <= settings.max_word_distance
        wake = list(grammar.wake_name)
        bare = not wake or best_words[: len(wake)] != wake
        part_of_more = bool(settings.max_extra_words) and bare and not noisy and free.finished and says_more(free_words, best_words, settings.max_extra_words, grammar.fillers)
        unrelated = not noisy and free.finished and bool(free_words) and not set(free_words) & set(best_words) and best is not None and best.mean_logprob < settings.unrelated_min_logprob
        if phrase is None and close and part_of_more and best is not None:
            rescued = self._misheard_name(keys, start, grammar, free_words, best, best_words)
            if rescued is not None:
                best, best_words, part_of_more = rescued, normalize(runtime.text_of(rescued.tokens)), False
                distance = word_distance(free_words, best_words)
                close = best.mean_logprob >= free.mean_logprob - margin and distance <= settings.max_word_distance
        if phrase is None and close and not part_of_more and not unrelated and grammar.graph.accepts(best_words):
            accepted = " ".join(best_words)
        if start.no_speech > settings.max_no_speech:
            accepted = None
        chosen = free.mean_logprob if phrase is not None else (best.mean_logprob if best is not None else -99.0)
        if chosen < settings.min_logprob:
            accepted = None
        compute = time.perf_counter() - clock
        evidence = None
        if self.keep_evidence:
            evidence = (Evidence(grammar.context, segment.start_s, segment.end_s, segment.above_floor_db, start.no_speech, free.mean_logprob, len(free.tokens), phrase is not None,
                                          best.mean_logprob if best is not None else None, len(best.tokens) if best is not None else 0, distance,
                                          phrase or (" ".join(best_words) if best is not None else None), accepted is not None, compute))
        if accepted is None:
            goes_on = bool(free_words) and free.finished and grammar.graph.could_go_on(free_words, grammar.fillers)
            return Decision(None, goes_on, compute, evidence)
        confidence = float(np.exp(free.mean_logprob if phrase is not None else (best.mean_logprob if best else -9.0)))
        hypothesis = Hypothesis(accepted, round(confidence, 3), segment.start_s, segment.end_s)
        return Decision(hypothesis, grammar.graph.could_go_on(accepted.split()), compute, evidence)
