"""The constrained search beside the free transcript (assistant/asr/beam.py: Search)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from assistant.asr.beam import Decoded, Search

PHRASE = Decoded((1, 2, 3), -0.5, True)


def test_a_search_on_its_own_core_gives_its_phrase() -> None:
    with ThreadPoolExecutor(1) as pool:
        started = threading.Event()

        def run(stop: threading.Event) -> Decoded | None:
            started.set()
            return PHRASE

        search = Search(run, pool)
        assert started.wait(5)  # it began before anyone asked for it
        assert search.result() == PHRASE


def test_a_search_no_longer_wanted_stops() -> None:
    with ThreadPoolExecutor(1) as pool:
        steps = []

        def run(stop: threading.Event) -> Decoded | None:
            while not stop.wait(0.01):  # a beam search checks at every step
                steps.append(1)
                if len(steps) > 500:
                    return PHRASE
            return None

        search = Search(run, pool)
        search.cancel()
        assert search.result() is None and len(steps) < 500


def test_without_a_spare_core_the_search_runs_only_when_asked_for() -> None:
    calls = []

    def run(stop: threading.Event) -> Decoded | None:
        calls.append(1)
        return PHRASE

    search = Search(run, None)
    assert calls == []
    assert search.result() == PHRASE and calls == [1]
    Search(run, None).cancel()
    assert calls == [1]
