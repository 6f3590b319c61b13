"""PocketSphinx implementation of the `Recognizer` protocol, built to ignore conversation.

Why it is shaped this way (figures in docs/false-activations.md):

* Audio is cut into speech segments by the shared segmenter (assistant/asr/vad.py: Silero VAD and
  the level relative to the room), and each segment is decoded whole (`full_utt=True`, so
  cepstral mean normalization sees the entire segment), rather than streaming the grammar search
  over the evening: a grammar search left running matches *something* in most stretches of talk.
* A segment longer than a command could be (`max_duration_s`) is dropped without being decoded,
  which is both the cheapest rejection and a privacy win.
* Every grammar hit is re-checked against a free phone-loop decode of the same audio
  (`assistant.asr.verify`): the grammar-vs-phone-loop score ratio and the phone-string distance
  reject conversation that the grammar merely forced into a command shape.
* Synthesized or gated audio contains exact digital silence, on which the acoustic front end does
  badly; a -66 dBFS white noise floor (far below any real microphone's own noise) is added to each
  segment before decoding.

Nothing the couple says is logged or written anywhere: PocketSphinx's own logging is silenced and
segment audio lives only in memory until it has been decoded.
"""

from __future__ import annotations

from collections.abc import Iterable

import math
import os
import re
from dataclasses import dataclass, replace

import numpy as np
import pocketsphinx

from assistant.asr.base import SAMPLE_RATE, Grammar, Hypothesis
from assistant.asr.vad import Segment, Segmenter, SegmenterSettings, default_segmenter
from assistant.asr.verify import SegmentEvidence, VerifierSettings, clean_word, judge
from assistant.grammar import WordGraph

_BYTES_PER_SAMPLE = 2
_FRAME_RATE = 100  # PocketSphinx feature frames per second
_PHONE_SEARCH = "__phones"
_PURE_PHONE_SEARCH = "__pure_phones"  # phone loop without the phone LM: a stronger garbage model
_FREE_SEARCH = "_default"
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+.*\+|SIL)$")

# How PocketSphinx's segments are cut (its own settings, measured with scripts/fa_study.py; the
# shared defaults serve the other engines). `max_s` comes from `VerifierSettings.max_duration_s`.
SEGMENTATION = SegmenterSettings()

# PocketSphinx's acceptance rule, fitted on evidence from segments cut with SEGMENTATION
# (`python scripts/fa_study.py fit`, docs/false-activations.md). `VerifierSettings()` holds the
# rule fitted on the old pocketsphinx.Endpointer's segments, which the shared segmenter cuts
# differently (more lead-in and tail), so its weights and edges no longer fit.
VERIFIER = VerifierSettings()


def add_noise_floor(pcm: bytes, dbfs: float, rng: np.random.Generator) -> bytes:
    """Add white noise at `dbfs` (RMS re full scale) so digital silence looks like a microphone."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    sigma = 32768.0 * 10.0 ** (dbfs / 20.0)
    noisy = samples + rng.normal(0.0, sigma, samples.size)
    return bytes(np.clip(np.rint(noisy), -32768, 32767).astype("<i2").tobytes())


class _Decoders:
    """One PocketSphinx decoder holding every search: each context's grammar, a phone loop and,
    optionally, the open-vocabulary language model. Switching searches is cheap; loading is not."""

    def __init__(
        self, free_lm: bool, hmm: str | None, dictionary: str | None, pure_loop: bool = False
    ) -> None:
        model = pocketsphinx.get_model_path()
        config = pocketsphinx.Config(loglevel="FATAL")
        if hmm is not None:
            config["hmm"] = hmm
        if dictionary is not None:
            config["dict"] = dictionary
        if not free_lm:
            config["lm"] = None
        self.free_lm = free_lm
        self.decoder = pocketsphinx.Decoder(config)
        self.decoder.add_allphone_file(_PHONE_SEARCH, os.path.join(model, "en-us-phone.lm.bin"))
        self.pure_loop = pure_loop
        if pure_loop:
            self.decoder.add_allphone_file(_PURE_PHONE_SEARCH, None)
        self._grammars: dict[int, tuple[str, WordGraph]] = {}
        # Path scores come back as probabilities of a log-base-1.0001 score shifted down by 10
        # bits; this factor turns them back into natural-log units.
        self._nats = 1024.0 * math.log(1.0001)

    def grammar_search(self, graph: WordGraph) -> str:
        """Name of the search for `graph`, built on first use.

        The word graph goes in as PocketSphinx's own finite-state grammar, state for state. Its
        JSGF compiler would expand every rule reference inline, so a graph whose states are shared
        by many paths (the coffee pack: 58 states, 6e8 sentences) grew past 18 GB and was killed."""
        key = id(graph)
        found = self._grammars.get(key)
        if found is not None:
            return found[0]
        name = f"__grammar{len(self._grammars)}"
        final = len(graph.arcs)
        transitions: list[tuple[int, int, float] | tuple[int, int, float, str]] = []
        for state, arcs in enumerate(graph.arcs):
            ways = len(arcs) + (state in graph.finals)
            transitions += [(state, target, 1.0 / ways, word) for word, target in sorted(arcs.items())]
            if state in graph.finals:
                transitions.append((state, final, 1.0 / ways))  # the phrase may end here
        fsg = self.decoder.create_fsg(name, 0, final, transitions)
        self.decoder.add_fsg(name, fsg)
        self._grammars[key] = (name, graph)  # the graph is kept so its id stays its own
        return name

    def run(self, search: str, pcm: bytes) -> _Decode:
        """Decode `pcm` as one utterance with `search`."""
        self.decoder.activate_search(search)
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, False, True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        if hyp is None:
            return _Decode("", -math.inf, 0.0, ())
        logmath = self.decoder.get_logmath()
        segs = list(self.decoder.seg())
        ascores = [_safe_log(logmath, s.ascore) for s in segs]
        score = self._log_score(hyp.score)
        # Word and phone scores come on different internal scales depending on the search (grammar
        # seg scores are not shifted, phone-loop ones are): rescale them to sum to the path score.
        total = sum(ascores)
        scale = score / total if total < 0.0 and math.isfinite(score) else 0.0
        tokens = tuple(
            _Token(s.word, s.start_frame, s.end_frame + 1, a * scale, float(s.prob))
            for s, a in zip(segs, ascores)
            if not _FILLER.match(s.word)
        )
        return _Decode(hyp.hypstr, score, float(hyp.prob), tokens)

    def _log_score(self, score: float) -> float:
        if score <= 0.0:
            return -math.inf
        return float(self.decoder.get_logmath().log(score)) * self._nats

    def phones_of(self, words: list[str]) -> tuple[str, ...]:
        """Dictionary phones of the decoded words (alternate pronunciations included)."""
        phones: list[str] = []
        for word in words:
            found = self.decoder.lookup_word(word)
            if found:
                phones.extend(found.split())
        return tuple(phones)

    def evidence(
        self, search: str, graph: WordGraph | None, pcm: bytes, context: str = ""
    ) -> SegmentEvidence | None:
        """Decode `pcm` with the grammar and, if it matched, gather the second-pass evidence.

        PocketSphinx returns the best *partial* path when no grammar end state was reached
        ("what can i"); `graph` (when given) tells whole phrases from such fragments.
        """
        grammar = self.run(search, pcm)
        text = " ".join(clean_word(w) for w in grammar.text.split())
        if not text:
            return None
        loop = self.run(_PHONE_SEARCH, pcm)
        pure = self.run(_PURE_PHONE_SEARCH, pcm).score if self.pure_loop else None
        free_words: tuple[str, ...] = ()
        if self.free_lm:
            free_words = tuple(t.word for t in self.run(_FREE_SEARCH, pcm).tokens)
        n_samples = len(pcm) // _BYTES_PER_SAMPLE
        return SegmentEvidence(
            duration_s=n_samples / SAMPLE_RATE,
            n_frames=max(1, n_samples * _FRAME_RATE // SAMPLE_RATE),
            grammar_text=text,
            grammar_score=grammar.score,
            phone_score=loop.score,
            grammar_phones=self.phones_of([t.word for t in grammar.tokens]),
            free_phones=tuple(t.word for t in loop.tokens),
            free_words=free_words,
            complete=graph is None or graph.accepts(text.split()),
            grammar_prob=grammar.prob,
            word_probs=tuple(t.prob for t in grammar.tokens),
            word_margins=word_margins(grammar, loop),
            context=context,
            pure_phone_score=pure,
        )


@dataclass(frozen=True)
class _Token:
    """One non-filler word (or phone) of a decode: frames [start, end), acoustic log score."""

    word: str
    start: int
    end: int
    ascore: float
    prob: float


@dataclass(frozen=True)
class _Decode:
    text: str
    score: float  # path score in nats
    prob: float  # posterior of the whole hypothesis (lattice), 0..1
    tokens: tuple[_Token, ...]


def _safe_log(logmath: pocketsphinx.LogMath, value: float) -> float:
    return float(logmath.log(value)) if value > 0.0 else -1e6


def word_margins(grammar: _Decode, loop: _Decode) -> tuple[float, ...]:
    """Per grammar word: (its acoustic score - the phone loop's over the same frames) per frame.

    A forced fit usually shows as one word the audio does not support (a long word squeezed
    onto unrelated talk) even when the whole-path margin looks fine.
    """
    margins = []
    for word in grammar.tokens:
        frames = max(1, word.end - word.start)
        covered = sum(p.ascore * _overlap(word, p) / max(1, p.end - p.start) for p in loop.tokens)
        margins.append((word.ascore - covered) / frames)
    return tuple(margins)


def _overlap(a: _Token, b: _Token) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


class PocketSphinxRecognizer:
    """Grammar-constrained, conversation-rejecting recognizer (implements `Recognizer`).

    Args:
        grammar: initial context grammar; until one is set, audio is segmented but not decoded.
        settings: second-pass thresholds (`VERIFIER` holds the measured defaults).
        verify: False returns every grammar hit (for measurement only: it accepts conversation).
        noise_floor_dbfs: white-noise floor added before decoding; None disables it.
        segmenter: where speech segments come from (default: the shared Silero segmenter).
        free_lm: also load the open-vocabulary LM for the word-overlap check (~+80 MB, slower).
        pure_phone_loop: also decode with a phone loop without phone LM (measurement only).
        hmm, dictionary: acoustic model folder and pronunciation dictionary (default: bundled).
        seed: seed of the noise floor; each segment's noise is drawn from (seed, where the segment
            starts), so a segment gets the same noise whatever was decoded before it (the study's
            figures are then exactly what a recognizer fed the same stream does).
    """

    name = "pocketsphinx"

    def __init__(
        self,
        grammar: Grammar | None = None,
        *,
        settings: VerifierSettings | None = None,
        verify: bool = True,
        noise_floor_dbfs: float | None = -66.0,
        segmenter: Segmenter | None = None,
        free_lm: bool = False,
        pure_phone_loop: bool = False,
        hmm: str | None = None,
        dictionary: str | None = None,
        seed: int = 0,
    ) -> None:
        self.settings = settings if settings is not None else VERIFIER
        self.verify = verify
        self.noise_floor_dbfs = noise_floor_dbfs
        self._seed = seed
        self._decoders = _Decoders(
            free_lm or self.settings.min_word_overlap > 0, hmm, dictionary, pure_phone_loop
        )
        self._segmenter = segmenter or default_segmenter(
            replace(SEGMENTATION, max_s=self.settings.max_duration_s)
        )
        self._search: str | None = None
        self._graph: WordGraph | None = None
        self._context = ""
        self.last_evidence: SegmentEvidence | None = None  # for measurement; overwritten per hit
        if grammar is not None:
            self.set_grammar(grammar)

    def unknown_words(self, words: Iterable[str]) -> list[str]:
        """Words missing from the pronunciation dictionary (a grammar using them cannot compile)."""
        return [word for word in words if self._decoders.decoder.lookup_word(word) is None]

    def set_grammar(self, grammar: Grammar) -> None:
        """Switch context; the open segment is dropped so that it cannot match the new grammar."""
        self._search = self._decoders.grammar_search(grammar.graph)
        self._graph = grammar.graph
        self._context = grammar.context
        self._segmenter.restart()

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        """Feed a block; return the commands whose segments ended inside it."""
        return self._decode_all(self._segmenter.feed(pcm))

    def flush(self) -> list[Hypothesis]:
        """End of input: decode the open segment, if any."""
        return self._decode_all(self._segmenter.finish())

    def reset(self) -> None:
        """Forget buffered audio (e.g. hearth's own voice); times keep counting."""
        self._segmenter.restart()
        self.last_evidence = None

    def _decode_all(self, segments: list[Segment]) -> list[Hypothesis]:
        found = (self._decode(s) for s in segments if s.final)
        return [h for h in found if h is not None]

    def _decode(self, segment: Segment) -> Hypothesis | None:
        self.last_evidence = None
        if segment.pcm is None or self._search is None:
            return None
        if segment.end_s - segment.start_s < self.settings.min_duration_s:
            return None
        pcm = segment.pcm
        if self.noise_floor_dbfs is not None:
            rng = np.random.default_rng((self._seed, max(0, round(segment.audio_start_s * SAMPLE_RATE))))
            pcm = add_noise_floor(pcm, self.noise_floor_dbfs, rng)
        evidence = self._decoders.evidence(self._search, self._graph, pcm, self._context)
        self.last_evidence = evidence
        if evidence is None:
            return None
        confidence = judge(evidence, self.settings) if self.verify else 1.0
        if confidence is None or not evidence.complete:
            return None
        return Hypothesis(evidence.grammar_text, confidence, segment.start_s, segment.end_s)
