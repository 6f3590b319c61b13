"""An installed wheel finds its own content (intents, exercises, info), not the checkout's."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "models", "tests", "*.wav")


def _can_build_offline() -> bool:
    """setuptools >= 68 and wheel here: build without an isolated (downloading) environment."""
    if importlib.util.find_spec("wheel") is None or importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    return int(setuptools.__version__.split(".")[0]) >= 68


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Build a wheel from a clean copy of the checkout and unpack it with pip into a bare folder."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=SKIP)
    wheels = root / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)]
    if _can_build_offline():
        build.insert(4, "--no-build-isolation")
    built = subprocess.run(build, capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("hearth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("assistant/builtin_intents/session.yaml", "assistant/content/info.yaml", "assistant/content/lines.yaml",
                     "assistant/content/exercises/check_in.yaml", "assistant/engine/table.py"):
        assert expected in names, f"{expected} is missing from the wheel"
    site = root / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q", "--target", str(site), str(wheel)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def _run_installed(site: Path, cwd: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)  # first on the path: the unpacked wheel, never the checkout
    env["HOME"] = str(cwd)
    env["XDG_DATA_HOME"] = str(cwd / "share")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env, check=False)


PROBE = """
import json, assistant
from assistant.intent_yaml import builtin_intent_dir, load_intents
from assistant.exercises import content_dir, load_catalog
intents = load_intents()
catalog = load_catalog()
print(json.dumps({
    "package": assistant.__file__,
    "intent_dir": str(builtin_intent_dir()),
    "intent_sources": list(intents.sources),
    "intents": sorted(intents.names()),
    "content_dir": str(content_dir()),
    "exercises": {e.id: e.source for e in catalog.exercises.values()},
    "info": sorted(catalog.info),
    "match": intents.match("start the 36 questions", "idle").slots["exercise"],
}))
"""


def test_installed_wheel_finds_its_own_content(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _run_installed(installed, elsewhere, ["-c", PROBE])
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    site = str(installed.resolve())
    assert found["package"].startswith(site)
    assert found["intent_dir"].startswith(site) and found["intent_dir"].endswith("builtin_intents")
    assert found["intent_sources"] and all(source.startswith(site) for source in found["intent_sources"])
    assert {"start", "continue", "next", "stop", "more_time"} <= set(found["intents"])
    assert found["content_dir"].startswith(site)
    assert len(found["exercises"]) == 7
    assert all(source.startswith(site) for source in found["exercises"].values())
    assert found["info"] == ["bids_for_connection", "when_to_get_help"]
    assert found["match"] == "thirty_six_questions"
    assert str(REPO) not in result.stdout


def test_installed_cli_checks_content_and_runs_a_session(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checked = _run_installed(installed, elsewhere, ["-m", "assistant", "check"])
    assert checked.returncode == 0, checked.stderr
    assert "ok: 7 exercises" in checked.stdout
    session = subprocess.run(
        [sys.executable, "-m", "assistant", "--text", "--mute", "--fake-clock", "--data-dir", str(elsewhere / "data"), "--names", "Alex", "Sam"],
        input="start our check in\n:wait 240\n",
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=elsewhere,
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(installed), "HOME": str(elsewhere)},
    )
    assert session.returncode == 0, session.stderr
    assert "hearth: Over to you, Alex." in session.stdout
    assert "hearth: Thank you both, for sharing and for listening." in session.stdout
