"""Chimes: distinct, soft, click-free; and the player's modes, including a real play-back."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from assistant import chimes
from assistant.errors import ConfigError

try:
    from tests.virtual_audio import virtual_audio
except ImportError:  # tests/ is not a package: pytest puts it on sys.path itself
    from virtual_audio import virtual_audio  # type: ignore[no-redef]

RATE = chimes.SAMPLE_RATE


def _spectrum(x: NDArray[np.float32]) -> NDArray[np.float64]:
    """Magnitude spectrum on a common 1 s grid (1 Hz bins), normalized, up to 6 kHz."""
    padded = np.zeros(RATE)
    padded[: x.size] = x
    mag = np.abs(np.fft.rfft(padded))[:6000]
    return np.asarray(mag / np.linalg.norm(mag))


def _dbfs(x: NDArray[np.float32]) -> float:
    return float(20 * np.log10(np.max(np.abs(x))))


@pytest.mark.parametrize("kind", chimes.CHIME_KINDS)
def test_each_chime_is_short_soft_and_click_free(kind: chimes.ChimeKind) -> None:
    x = chimes.render(kind)
    assert x.dtype == np.float32
    assert 0.2 <= x.size / RATE <= 0.9
    assert -27.0 <= _dbfs(x) <= -17.5
    # No clicks: the first and last samples are (near) zero, and no sample-to-sample jump is larger
    # than a smooth sine of the highest partial could make.
    assert abs(x[0]) < 1e-4 and abs(x[-1]) < 1e-4
    peak = np.max(np.abs(x))
    assert np.max(np.abs(np.diff(x))) < peak * 2 * np.pi * 4400 / RATE


def test_minute_left_is_quieter_than_the_turn_chimes() -> None:
    assert _dbfs(chimes.render("minute_left")) < _dbfs(chimes.render("turn_start")) - 5


def test_chimes_are_distinct() -> None:
    spectra = {k: _spectrum(chimes.render(k)) for k in chimes.CHIME_KINDS}
    durations = {k: chimes.render(k).size / RATE for k in chimes.CHIME_KINDS}
    for a, b in itertools.combinations(chimes.CHIME_KINDS, 2):
        similarity = float(np.dot(spectra[a], spectra[b]))
        # different spectra, or (turn_start vs turn_end share notes) clearly different lengths
        assert similarity < 0.8 or abs(durations[a] - durations[b]) > 0.2, (a, b, similarity)


def test_turn_start_rises_and_turn_end_falls() -> None:
    def pitch_track(x: NDArray[np.float32]) -> list[float]:
        win = 2048
        out = []
        for start in range(0, x.size - win, win // 2):
            mag = np.abs(np.fft.rfft(x[start : start + win] * np.hanning(win)))
            out.append(float(np.argmax(mag)) * RATE / win)
        return out

    rising = pitch_track(chimes.render("turn_start"))
    falling = pitch_track(chimes.render("turn_end"))
    assert rising[-1] > rising[0]
    assert falling[-1] < falling[0]


def test_int16_rendering_and_other_rates() -> None:
    x = chimes.render_int16("acknowledged", 16_000)
    assert x.dtype == np.int16
    assert abs(x.size - int(0.22 * 16_000)) <= 1
    assert 4000 < np.max(np.abs(x)) < 4300  # -18 dBFS of 32767 is ~4125


def test_unknown_chime_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        chimes.render("fanfare")  # type: ignore[arg-type]


def test_record_and_silent_modes() -> None:
    player = chimes.ChimePlayer(mode="record")
    player.play("turn_start")
    player.play("minute_left")
    assert [k for k, _ in player.played] == ["turn_start", "minute_left"]
    silent = chimes.ChimePlayer(mode="silent")
    silent.play("turn_end")
    assert silent.played == []
    silent.close()


@pytest.mark.audio
def test_chime_plays_through_the_virtual_speaker() -> None:
    with virtual_audio() as va, va.in_process():
        rec = va.start_recording(rate=RATE)
        assert rec.wait_started(), "the speaker monitor delivered nothing"
        player = chimes.ChimePlayer()
        player.play("turn_start")
        assert player.wait(timeout=5.0)
        rec.keep_recording(0.5)
        player.close()
        recorded = rec.stop().astype(np.float64) / 32768.0
    expected = chimes.render("turn_start").astype(np.float64)
    assert recorded.size > expected.size
    corr = np.correlate(recorded, expected, mode="valid")
    lag = int(np.argmax(corr))
    segment = recorded[lag : lag + expected.size]
    similarity = float(np.dot(segment, expected) / (np.linalg.norm(segment) * np.linalg.norm(expected)))
    level = 20 * np.log10(np.max(np.abs(segment)))
    print(f"chime recorded back: similarity {similarity:.3f}, peak {level:.1f} dBFS")
    assert similarity > 0.95
    assert -20.0 < level < -16.0
