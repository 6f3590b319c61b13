"""Helpers shared by hearth's benchmark scripts: provenance, BENCHMARKS.md sections, tables, stats.

Why a separate module: every benchmark must say exactly what it measured (which commit, which
machine, which package versions) and must rewrite only its own section of BENCHMARKS.md, so that
several benchmarks written by different people can share one file without clobbering each other.
Nothing here imports `assistant`: the benchmark decides which copy of the package it measures.
"""

from __future__ import annotations

import math
import os
import platform
import re
import shutil
import subprocess
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def speech_dir() -> Path:
    """Where the shared real-speech recordings live: $HEARTH_SPEECH, else ../shared/speech.

    They are never copied into the repo (licence, size); benchmarks skip visibly without them.
    """
    return Path(os.environ.get("HEARTH_SPEECH", str(REPO.parent / "shared" / "speech")))


def stable_seed(*parts: object) -> int:
    """A seed that is the same in every process and run (Python's hash() is salted per process)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


# ---------------------------------------------------------------- provenance


@dataclass(frozen=True)
class CodeState:
    """Which code was measured: a commit, and whether the measured files differ from it."""

    commit: str
    subject: str
    dirty: tuple[str, ...]  # paths under the measured folders that differ from the commit
    exported: bool  # True when the commit was exported with `git archive` and measured as is

    def describe(self) -> str:
        where = "exported with `git archive`, measured exactly" if self.exported else "working tree"
        text = f"commit `{self.commit[:10]}` ({self.subject}; {where})"
        if self.dirty and not self.exported:
            shown = ", ".join(self.dirty[:8]) + (" ..." if len(self.dirty) > 8 else "")
            text += f"; **uncommitted changes measured too**: {shown}"
        return text


def _git(*args: str) -> str:
    """stdout of a read-only git command in the repo ('' if git fails); trailing newlines dropped."""
    out = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
    return out.stdout.rstrip("\n") if out.returncode == 0 else ""


def code_state(paths: Sequence[str], exported: bool) -> CodeState:
    """The commit at HEAD and the measured paths that differ from it (modified or untracked)."""
    commit = _git("rev-parse", "HEAD") or "unknown"
    subject = _git("log", "-1", "--format=%s") or "no git history"
    status = _git("status", "--porcelain", "--untracked-files=all", "--", *paths)
    dirty = tuple(line[3:] for line in status.splitlines() if line.strip())
    return CodeState(commit, subject, dirty, exported)


def export_commit(rev: str, paths: Sequence[str], dest: Path) -> Path:
    """Unpack `paths` of commit `rev` into `dest` (no git state is touched), so the benchmark can
    measure exactly what is committed even while someone edits the working tree."""
    blob = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, *paths], capture_output=True, check=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of Python distributions ('absent' when not installed)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def tool_version(argv: Sequence[str], pattern: str = r"\d+(\.\d+)+") -> str:
    """The first version-looking token a command-line tool prints, or 'absent'."""
    if shutil.which(argv[0]) is None:
        return "absent"
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=20)
    found = re.search(pattern, proc.stdout + proc.stderr)
    return found.group(0) if found else "unknown"


def peak_rss_mb() -> float:
    """This process's peak resident set size since it was started (exec'd), in MB.

    Why not ru_maxrss alone: Linux carries ru_maxrss across execve, so a spawned worker would report
    at least the RSS its parent had when it forked; VmHWM belongs to the new process image only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine_line() -> str:
    """One line naming the machine: core count, CPU model, OS and Python."""
    return f"{os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


# ---------------------------------------------------------------- BENCHMARKS.md


def rewrite_section(path: Path, heading: str, body: str) -> None:
    """Replace the `## heading` section of `path` with `body` (which starts with that heading),
    keeping every other section byte for byte; append it if absent; create the file if needed."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    block = body.rstrip("\n") + "\n"
    if start is None:
        new = text.rstrip("\n") + "\n\n" + block
    else:
        end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + block + ("\n" + tail if tail else "")
    path.write_text(new, encoding="utf-8")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A GitHub markdown table. `align` has one letter per column, l or r; by default the first
    column is left-aligned (labels) and the others right-aligned (figures)."""
    letters = align or "l" + "r" * (len(headers) - 1)
    if len(letters) != len(headers):
        raise ValueError(f"align '{letters}' does not fit {len(headers)} columns")
    align_row = [":---" if a == "l" else "---:" for a in letters]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align_row) + " |"]
    for row in rows:
        cells = [str(cell) for cell in row]
        if len(cells) != len(headers):
            raise ValueError(f"row {cells} has {len(cells)} cells for {len(headers)} columns")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def pct(part: int, whole: int, digits: int = 0) -> str:
    """'97%' style share; '—' when there is nothing to divide by."""
    if whole == 0:
        return "—"
    return f"{100.0 * part / whole:.{digits}f}%"
