"""Decoding one encoded segment: a free greedy transcript, and a beam search held to the grammar.

Both use the same decoder and the same log-probabilities (normalized over the whole vocabulary,
before any token is masked), so their scores can be compared: conversation forced into a command
phrase scores far below what the model would freely have written, while a command said clearly
scores about the same either way. That comparison is the rejection rule (whisper_engine.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .token_graph import END, State, TokenGraph
from .whisper_decoder import Cache, Scores, WhisperDecoder, select


@dataclass(frozen=True)
class Decoded:
    """Tokens (the end-of-text token included) and their mean log-probability."""

    tokens: tuple[int, ...]
    mean_logprob: float
    finished: bool  # ended with end-of-text within the length limit


@dataclass(frozen=True)
class Start:
    """The decoder after the prompt: scores of the first text token, and its cache."""

    scores: Scores  # one row
    cache: Cache
    no_speech: float  # the model's probability that the segment holds no speech at all
    position: int


def begin(decoder: WhisperDecoder, audio: Cache, prompt: tuple[int, ...], no_speech_token: int) -> Start:
    scores, cache = decoder.forward(np.array([prompt], dtype=np.int64), 0, audio, None)
    no_speech = float(np.exp(scores.of(0, np.array([no_speech_token], dtype=np.int64))[0]))
    return Start(scores.pick([scores.rows - 1]), cache, no_speech, len(prompt))


def greedy(decoder: WhisperDecoder, audio: Cache, start: Start, allowed: NDArray[np.bool_], end_of_text: int, max_tokens: int, sentence_ends: frozenset[int] = frozenset()) -> Decoded:
    """The model's own best guess, one token at a time, among `allowed` tokens.

    It stops at the end of the first sentence, or where it starts over with its own first word: a
    command is one sentence, and on a window cut short tiny.en often says it again and again
    ("pause, pause, pause"). The end-of-text token is then scored there, as if the model had chosen it."""
    scores, cache, position = start.scores, start.cache, start.position
    tokens: list[int] = []
    total = 0.0
    for _ in range(max_tokens):
        token, logprob = scores.best(0, allowed)
        starts_over = len(tokens) >= 2 and token == tokens[0]
        if token != end_of_text and tokens and (tokens[-1] in sentence_ends or starts_over):
            token = end_of_text
            logprob = float(scores.of(0, np.array([token], dtype=np.int64))[0])
        tokens.append(token)
        total += logprob
        if token == end_of_text:
            return Decoded(tuple(tokens), total / len(tokens), True)
        scores, cache = decoder.forward(np.array([[token]], dtype=np.int64), position, audio, cache)
        position += 1
    return Decoded(tuple(tokens), total / max(1, len(tokens)), False)


@dataclass(frozen=True)
class _Beam:
    score: float
    tokens: tuple[int, ...]
    state: State


def constrained(decoder: WhisperDecoder, audio: Cache, start: Start, graph: TokenGraph, width: int, length_bonus: float | None = None, stop: threading.Event | None = None) -> Decoded | None:
    """The best phrase of the grammar for this audio (beam search over allowed tokens only); None
    when no phrase could be finished, or once `stop` is set (the answer is no longer wanted).
    Finished phrases are ranked by their mean log-probability per token, or, with a
    `length_bonus`, by their total plus that bonus per token (a word insertion bonus, as classic
    decoders have): in noise the last words of a command are the least certain, and a plain mean
    would rather drop them than hear them."""
    beams = [_Beam(0.0, (), graph.start)]
    scores = start.scores
    cache = start.cache
    position = start.position
    finished: list[Decoded] = []

    def rank(total: float, length: int) -> float:
        return total / length if length_bonus is None else total + length_bonus * length

    for depth in range(min(graph.longest_tokens, decoder.max_tokens - position - 1)):
        if stop is not None and stop.is_set():
            return None
        # The first tokens carry the least evidence (a name like "juniper" starts with a token the
        # model finds unlikely on its own), so the first few steps keep three times as many beams.
        keep = width * 3 if depth < 3 else width
        candidates: list[tuple[float, int, int, State]] = []
        for row, beam in enumerate(beams):
            moves = graph.moves(beam.state)
            ids = np.fromiter(moves, dtype=np.int64, count=len(moves))
            totals = beam.score + scores.of(row, ids)
            for index in np.argsort(-totals)[:keep]:
                token = int(ids[index])
                candidates.append((float(totals[index]), row, token, moves[token]))
        candidates.sort(key=lambda c: -c[0])
        survivors: list[tuple[float, int, int, State]] = []
        for score, row, token, state in candidates[: 2 * keep]:  # an ending counts only if it ranks among the best
            tokens = beams[row].tokens + (token,)
            if state == END:
                finished.append(Decoded(tokens, score / len(tokens), True))
            elif len(survivors) < keep:
                survivors.append((score, row, token, state))
        if not survivors:
            break
        if len(finished) >= width:
            length = len(beams[0].tokens) + 2
            best = max(rank(f.mean_logprob * len(f.tokens), len(f.tokens)) for f in finished)
            if max(rank(score, length) for score, _, _, _ in survivors) < best:
                break
        rows = np.array([row for _, row, _, _ in survivors], dtype=np.int64)
        step_tokens = np.array([[token] for _, _, token, _ in survivors], dtype=np.int64)
        scores, cache = decoder.forward(step_tokens, position, audio, select(cache, rows))
        position += 1
        beams = [_Beam(score, beams[row].tokens + (token,), state) for score, row, token, state in survivors]
    if not finished:
        return None
    return max(finished, key=lambda d: rank(d.mean_logprob * len(d.tokens), len(d.tokens)))


class Search:
    """The constrained search, started on another core while the free transcript is written.

    Most decisions in a quiet room need only the free transcript (it is already a command), but in
    noise both are needed, one after the other, and a long command then took longer to decode than
    the pause that ends it. Run side by side they take about as long as the longer of the two. The
    decoder keeps no state between calls, so the two threads share it safely; one worker runs the
    searches one at a time. Without a `pool` (a single core) the search runs only when asked for.
    """

    def __init__(self, run: Callable[[threading.Event], Decoded | None], pool: ThreadPoolExecutor | None) -> None:
        self._run = run
        self._stop = threading.Event()
        self._future: Future[Decoded | None] | None = pool.submit(run, self._stop) if pool is not None else None

    def result(self) -> Decoded | None:
        return self._run(self._stop) if self._future is None else self._future.result()

    def cancel(self) -> None:
        """Not wanted after all: the search stops at its next step."""
        self._stop.set()
