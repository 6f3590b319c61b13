"""Smoke test of the speech-recognition benchmark (scripts/bench_asr.py).

Why: the benchmark measures whatever recognizer is committed, through the product's own listener,
so a change to the recognizer or the intents can break it without anyone running the full 20-minute
measurement. `--quick` runs every stage on 2-3 items (~15 s); here we check that it finishes, that
its tables have a consistent shape, and that it rewrites only its own section of the output file.
The figures of a quick run mean nothing and are not checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_asr.py"
OTHER_SECTION = "## Startup time\n\nSomeone else's figures, kept byte for byte.\n"

sys.path.insert(0, str(REPO / "scripts"))
from bench_common import rewrite_section


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in `text`, as rows of cells (header and alignment rows included)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(stdout, written file) of one `--quick` run into a file that already has another section."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (bash scripts/setup.sh installs it)")
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n" + OTHER_SECTION)
    cmd = [sys.executable, str(SCRIPT), "--quick", "--out", str(out), "--cache", str(folder / "cache")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout, out.read_text()


def test_quick_run_writes_only_its_own_section(quick_run: tuple[str, str]) -> None:
    stdout, written = quick_run
    assert OTHER_SECTION in written
    assert written.count("## Speech recognition") == 1
    assert "## Speech recognition" in stdout
    assert "python scripts/bench_asr.py --quick" in written
    assert "hearth listen --input" in written


def test_every_table_is_rectangular(quick_run: tuple[str, str]) -> None:
    found = tables(quick_run[1])
    assert len(found) >= 5
    for table in found:
        assert all(len(row) == len(table[0]) for row in table), table


def test_accuracy_table_has_one_column_per_condition(quick_run: tuple[str, str]) -> None:
    accuracy = next(t for t in tables(quick_run[1]) if t[0][0] == "voice family")
    assert accuracy[0][1:3] == ["clean", "white 10 dB"]
    assert accuracy[0][3:] in ([], ["babble 10 dB"])  # babble needs the shared LibriSpeech clips
    body = accuracy[2:]
    assert body[-1][0] == "**all voices**"
    for row in body:
        for cell in row[1:]:
            assert re.fullmatch(r"\d+% \(\d+\)|—", cell), cell
    assert body[-1][1].endswith("(3)")  # the quick run's 3 commands, clean


def test_targets_are_reported_with_a_verdict(quick_run: tuple[str, str]) -> None:
    written = quick_run[1]
    if "Vosk: skipped" not in written:
        assert "### vosk: command accuracy" in written
    targets = next(t for t in tables(written) if t[0] == ["engine", "measure", "target", "measured", "met?"])
    measures = " ".join(row[1] for row in targets[2:])
    for needed in ("command accuracy", "false activations / hour", "latency p95", "real-time factor", "peak RSS"):
        assert needed in measures
    assert {row[4] for row in targets[2:]} <= {"yes", "**NO**", "n/a", "—"}


def test_rewrite_section_replaces_the_middle_section_in_place(tmp_path: Path) -> None:
    path = tmp_path / "B.md"
    path.write_text("# B\n\n## A\n\na\n\n## Speech recognition\n\nold\n\n## Z\n\nz\n")
    rewrite_section(path, "## Speech recognition", "## Speech recognition\n\nnew\n")
    assert path.read_text() == "# B\n\n## A\n\na\n\n## Speech recognition\n\nnew\n\n## Z\n\nz\n"
    rewrite_section(tmp_path / "new.md", "## Speech recognition", "## Speech recognition\n\nx\n")
    assert (tmp_path / "new.md").read_text() == "# Benchmarks\n\n## Speech recognition\n\nx\n"
