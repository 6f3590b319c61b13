"""`hearth doctor` on the virtual devices: every check passes; with no devices, each problem has a fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from live_harness import REPO, pulse_env
from virtual_audio import virtual_audio


@pytest.mark.audio
def test_doctor_passes_with_a_microphone_and_a_speaker(tmp_path: Path) -> None:
    with virtual_audio() as va:
        result = subprocess.run([sys.executable, "-m", "assistant", "doctor", "--data-dir", str(tmp_path)],
                                cwd=REPO, env=pulse_env(va.env), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("microphone", "speaker", "voice", "recognition", "data"):
        assert f"ok  {check}:" in result.stdout
    assert "recorded 1 s" in result.stdout and "All set." in result.stdout


def test_doctor_names_a_fix_for_each_missing_device(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"}
    result = subprocess.run([sys.executable, "-m", "assistant", "doctor", "--data-dir", str(tmp_path / "data")],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    if "ok  microphone" in result.stdout:
        pytest.skip("this machine has a real microphone")
    assert result.returncode == 1
    assert "!!  microphone:" in result.stdout and "fix:" in result.stdout
    assert "ok  data:" in result.stdout


def test_no_microphone_is_one_clear_message_with_a_fix(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"}
    result = subprocess.run([sys.executable, "-m", "assistant", "--mute", "--data-dir", str(tmp_path / "data")],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        pytest.skip("this machine has a real microphone")
    assert result.returncode == 3
    assert "no microphone" in result.stderr and "fix:" in result.stderr and "--text" in result.stderr
    assert "Traceback" not in result.stderr
