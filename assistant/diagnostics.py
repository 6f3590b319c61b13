"""Commands that look at this machine: devices, voices, the speech model, and `hearth doctor`.

Each check answers in plain words and names the fix, because the person reading it is setting up a
laptop on a kitchen table, not debugging.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .errors import HearthError
from .models import default_download_dir, download_model
from .speech.base import DEFAULT_RATE_WPM


def show_devices(out: TextIO = sys.stdout) -> int:
    from .audio import list_devices

    inputs, outputs = list_devices()
    for title, devices in (("Microphones (--input-device)", inputs), ("Speakers", outputs)):
        print(f"{title}:", file=out)
        if not devices:
            print("  none found", file=out)
        for device in devices:
            marker = "*" if device.is_default else " "
            print(f" {marker}{device.index:3d}  {device.name}  ({device.host_api}, {device.channels} ch, {device.default_rate} Hz)", file=out)
    if not inputs:
        print("No microphone: plug one in, or use `hearth --text` to type the commands.", file=out)
    return 0


def show_voices(out: TextIO = sys.stdout) -> int:
    from .speech.voices import show_voices as show

    return show(out)


def model_command(action: str, which: str, engine: str, explicit: Path | None, out: TextIO = sys.stdout) -> int:
    """`hearth model status` and `hearth model download [whisper|vosk]`."""
    from .asr.select import choose

    if action == "status":
        for line in choose(engine, explicit).lines():
            print(line, file=out)
        return 0
    started = time.monotonic()
    if which == "whisper":
        from .asr import whisper_model

        destination = whisper_model.download_dir()
        print(f"Downloading Whisper tiny.en into {destination} (this is hearth's only network access).", file=out)
        path = whisper_model.download(destination, progress=_progress_bar(out))
    else:
        destination = default_download_dir()
        print(f"Downloading the English Vosk model into {destination} (this is hearth's only network access).", file=out)
        path = download_model(destination, progress=_progress_bar(out))
    print(f"\nDone in {time.monotonic() - started:.0f} s: {path} (SHA-256 verified).", file=out)
    return 0


def _progress_bar(out: TextIO) -> Callable[[int, int | None], None]:
    def show(done: int, total: int | None) -> None:
        if total:
            filled = int(30 * done / total)
            print(f"\r  [{'#' * filled}{'.' * (30 - filled)}] {done / 1e6:5.1f} / {total / 1e6:.1f} MB", end="", file=out, flush=True)
        else:
            print(f"\r  {done / 1e6:5.1f} MB", end="", file=out, flush=True)

    return show


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = True  # a failed optional check does not fail `hearth doctor`


def run_doctor(data_dir: Path, engine: str, model: Path | None, out: TextIO = sys.stdout) -> int:
    """Check microphone, speaker, voice, recognizer and data folder; non-zero if a needed one fails."""
    checks = [_check_microphone(), _check_speaker(), _check_voice(), _check_recognizer(engine, model), _check_data_dir(data_dir)]
    for check in checks:
        mark = "ok " if check.ok else ("!! " if check.needed else "-- ")
        print(f"{mark} {check.name}: {check.detail}", file=out)
        if not check.ok and check.fix:
            print(f"     fix: {check.fix}", file=out)
    failed = [c for c in checks if not c.ok and c.needed]
    print("All set." if not failed else f"{len(failed)} problem(s) to fix before a hands-free evening.", file=out)
    return 0 if not failed else 1


def _guarded(name: str, needed: bool, body: Callable[[], Check]) -> Check:
    try:
        return body()
    except HearthError as error:
        return Check(name, False, error.message, error.fix, needed)
    except Exception as error:  # noqa: BLE001 - a diagnostic must report, not crash
        return Check(name, False, f"{type(error).__name__}: {error}", "", needed)


def _check_microphone() -> Check:
    def body() -> Check:
        from .audio import list_devices
        from .microphone import SoundDeviceMicrophone

        inputs, _ = list_devices()
        if not inputs:
            return Check("microphone", False, "no input device found", "plug in a microphone, or use `hearth --text`")
        microphone = SoundDeviceMicrophone()
        microphone.start()
        levels = []
        first_block_by = time.monotonic() + 3.0  # some devices take a moment to deliver audio
        deadline = None
        while time.monotonic() < (deadline or first_block_by):
            if microphone.read(timeout=0.2) is not None:
                levels.append(microphone.level)
                deadline = deadline or time.monotonic() + 1.0
        microphone.stop()
        if not levels:
            return Check("microphone", False, "opened, but no audio arrived in three seconds", "check the input device with `hearth devices`")
        peak = max(levels)
        quiet = " (very quiet: is it muted?)" if peak < -70 else ""
        return Check("microphone", True, f"{len(inputs)} input(s); recorded 1 s, loudest {peak:.0f} dBFS{quiet}")

    return _guarded("microphone", True, body)


def _check_speaker() -> Check:
    def body() -> Check:
        from .audio import list_devices
        from .chimes import ChimePlayer

        _, outputs = list_devices()
        if not outputs:
            return Check("speaker", False, "no output device found", "connect speakers or headphones")
        player = ChimePlayer()
        player.play("acknowledged")
        played = player.wait(timeout=3.0)
        player.close()
        if not played:
            return Check("speaker", False, "the chime did not finish playing", "check the output device with `hearth devices`")
        return Check("speaker", True, "played a short chime (did you hear it?)")

    return _guarded("speaker", True, body)


def _check_voice() -> Check:
    def body() -> Check:
        from .speech.factory import open_synthesizer
        from .speech.voices import piper_problem

        problem = piper_problem()
        synthesizer = open_synthesizer(None, DEFAULT_RATE_WPM, notices=io.StringIO())
        try:
            synthesizer.synthesize("Hello.")
            detail = f"{synthesizer.description} speaks"
        finally:
            synthesizer.close()
        if problem is not None:
            return Check("voice", True, f"{detail}; Piper is not available: {problem[0]} (fix: {problem[1]})")
        return Check("voice", True, detail)

    return _guarded("voice", True, body)


def _check_recognizer(engine: str, model: Path | None) -> Check:
    def body() -> Check:
        from .asr.select import choose

        choice = choose(engine, model)
        detail = f"{choice.engine}: {choice.reason}" + "".join(f"; not {line}" for line in choice.passed_over)
        return Check("recognition", True, detail)

    return _guarded("recognition", True, body)


def _check_data_dir(data_dir: Path) -> Check:
    def body() -> Check:
        from .store import Store

        store = Store(data_dir)
        store.close()
        if not os.access(data_dir, os.W_OK):
            return Check("data", False, f"{data_dir} is not writable", "pass a writable folder with --data-dir")
        return Check("data", True, f"progress is kept in {store.path}")

    return _guarded("data", True, body)
