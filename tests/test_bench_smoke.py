"""Smoke test of the speech-recognition benchmark (scripts/bench_asr.py).

Why: the benchmark measures whatever recognizer is committed, through `hearth listen`, so a change
to the recognizer, the intents or the CLI can break it without anyone running the full hour-long
measurement. `--quick` runs every stage on one or two items; here we check that it finishes, that
its tables are well formed, that every target gets a verdict, and that it rewrites only its own
section of the output file. The figures of a quick run mean nothing and are not checked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_asr.py"
OTHER_SECTION = "## Speech output\n\nSomeone else's figures, kept byte for byte.\n"

sys.path.insert(0, str(REPO / "scripts"))
from bench_common import rewrite_section  # noqa: E402

pytestmark = pytest.mark.slow


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
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n" + OTHER_SECTION)
    cmd = [sys.executable, str(SCRIPT), "--quick", "--engines", "whisper,vosk", "--out", str(out)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout, out.read_text()


def test_quick_run_writes_only_its_own_section(quick_run: tuple[str, str]) -> None:
    stdout, written = quick_run
    assert OTHER_SECTION in written
    assert written.count("## Speech recognition") == 1
    assert "python scripts/bench_asr.py --quick" in written
    assert "hearth listen --input" in written
    assert "These figures mean nothing" in written


def test_every_table_is_rectangular(quick_run: tuple[str, str]) -> None:
    found = tables(quick_run[1])
    assert len(found) >= 5
    for table in found:
        assert all(len(row) == len(table[0]) for row in table), table


def test_every_target_gets_a_verdict(quick_run: tuple[str, str]) -> None:
    written = quick_run[1]
    targets = next(t for t in tables(written) if t[0] == ["engine", "measure", "target", "measured", "met?"])
    measures = " ".join(row[1] for row in targets[2:])
    for needed in ("coffee orders", "taught phrasings", "false activations / hour", "decision latency p95", "real-time factor", "peak RSS", "start-up"):
        assert needed in measures
    assert {row[4] for row in targets[2:]} <= {"yes", "**NO**", "n/a", "—"}
    whisper = [row for row in targets[2:] if row[0] == "whisper"]
    assert len(whisper) >= 12


def test_an_engine_that_cannot_run_here_is_skipped_visibly(quick_run: tuple[str, str]) -> None:
    written = quick_run[1]
    assert "### vosk" in written
    vosk = [row for row in next(t for t in tables(written) if t[0][0] == "engine")[2:] if row[0] == "vosk"]
    assert vosk and vosk[0][3].startswith("skipped: ") and "Vosk model" in vosk[0][3]


def test_rewrite_section_replaces_the_middle_section_in_place(tmp_path: Path) -> None:
    path = tmp_path / "B.md"
    path.write_text("# B\n\n## A\n\na\n\n## Speech recognition\n\nold\n\n## Z\n\nz\n")
    rewrite_section(path, "## Speech recognition", "## Speech recognition\n\nnew\n")
    assert path.read_text() == "# B\n\n## A\n\na\n\n## Speech recognition\n\nnew\n\n## Z\n\nz\n"
    rewrite_section(tmp_path / "new.md", "## Speech recognition", "## Speech recognition\n\nx\n")
    assert (tmp_path / "new.md").read_text() == "# Benchmarks\n\n## Speech recognition\n\nx\n"
