"""Speech-recognition benchmark: every engine side by side, in one run, on the targets of issue 7.

    python scripts/bench_asr.py [--quick] [--engines whisper,pocketsphinx,vosk] [--committed] [--out BENCHMARKS.md]
                                [--results DIR] [--reuse]

Each engine's rendered figures are also kept in DIR (default .bench/asr, not in git) with the code
they measured; `--reuse` fills in engines not measured in this run from there, each still
labelled with its own code state and date (so one engine can be re-measured after a change to it
without re-running the others).

What it measures, and how (written into the section it produces):
* Everything goes through `hearth listen --input STREAM.wav --context C --json [--intents PACK]`,
  the product's measurement interface, one real process per stream; CPU time and peak memory come
  from the kernel when the process exits.
* Streams, not clips: a few seconds of the room first, then items with pauses between them, and
  the noise running through everything, the pauses included (asrbench/streams.py). Babble is five
  LibriSpeech talkers at once; "10 dB" means the items' active speech power (10 ms frames within
  40 dB of the loudest) is ten times the babble's power.
* Real people: the coffee orders in ../shared/speech (310 recordings, 50+ speakers), with the
  Picovoice grammar converted to a hearth pack (scripts/rhino_context.py): right = exactly one
  detection with the right intent and every slot. Speech Commands clips (yes, no and other words).
* hearth's own commands: the phrasings hearth teaches (each intent's help text) and the other
  spoken forms, synthesized, each in the context where a session hears it.
* Halves: calibration (scripts/calibrate_whisper.py) only ever saw the tuning half of the coffee
  orders and LibriSpeech and the espeak-ng tuning voices; figures are reported for both halves,
  and the targets are judged on the held-out ones.
* `--committed` measures HEAD exported with `git archive`, so uncommitted edits cannot leak in.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asrbench import hearth_material as hm  # noqa: E402
from asrbench import stages  # noqa: E402
from asrbench.material import Audio, speech_dir  # noqa: E402
from asrbench.runner import listen  # noqa: E402
from asrbench.streams import Item, build  # noqa: E402
from bench_common import REPO, code_state, export_commit, machine_line, markdown_table, package_versions, pct, percentile, rewrite_section  # noqa: E402

import numpy as np  # noqa: E402

SECTION = "## Speech recognition"
ENGINES = ("whisper", "pocketsphinx", "vosk")
TARGETS = {"coffee_clean": 98.0, "coffee_babble": 93.0, "taught_clean": 98.0, "taught_babble": 90.0, "wrong": 1.0,
           "fa": 0.5, "latency_ms": 500.0, "rtf": 0.3, "rss_mb": 500.0, "startup_s": 3.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two or three items per stage: checks the benchmark runs, figures mean nothing")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--committed", action="store_true", help="measure HEAD exactly (git archive), not the working tree")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--hour-minutes", type=float, default=60.0, help="length of the continuous conversation for the cost figures")
    parser.add_argument("--results", type=Path, default=REPO / ".bench" / "asr", help="where each engine's rendered figures are kept")
    parser.add_argument("--reuse", action="store_true", help="engines not measured now: their figures from --results")
    parser.add_argument("--targets-only", action="store_true",
                        help="only what the targets are judged on: held-out halves and voices, no tuning half, no table of every spoken form (about a third of the time)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hearth-bench-code-") as folder:
        code = export_commit("HEAD", ["assistant", "intents", "pyproject.toml"], Path(folder)) if args.committed else REPO
        state = code_state(["assistant", "intents"], args.committed)
        pack = Path(folder) / "coffee.yaml"
        sys.path.insert(0, str(REPO / "scripts"))
        from rhino_context import convert_file

        pack.write_text(convert_file(speech_dir() / "coffee_orders" / "context.yaml"), encoding="utf-8")
        measured = [e for e in args.engines.split(",") if e]
        for engine in measured:
            print(f"== {engine}", flush=True)
            began = time.monotonic()
            section = measure(engine, code, pack, args.quick, args.hour_minutes, args.targets_only)
            keep(args.results, rendered(section, state.describe(), (time.monotonic() - began) / 60, args.quick))
    minutes = (time.monotonic() - started) / 60
    parts = [load_kept(args.results, e) for e in ENGINES if e in measured or args.reuse]
    body = render([p for p in parts if p is not None], minutes, args.quick, args.targets_only)
    rewrite_section(args.out, SECTION, body)
    print(body)
    return 0


def rendered(section: dict[str, object], code: str, minutes: float, quick: bool) -> dict[str, Any]:
    """One engine's figures as text: its rows of the targets table and its own subsection."""
    return {"engine": section["engine"], "code": code, "minutes": minutes, "quick": quick,
            "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", "rows": engine_rows(section), "lines": engine_section(section)}


def keep(folder: Path, part: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{part['engine']}.json").write_text(json.dumps(part, indent=1), encoding="utf-8")


def load_kept(folder: Path, engine: str) -> dict[str, Any] | None:
    path = folder / f"{engine}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# ---------------------------------------------------------------- measuring one engine


def measure(engine: str, code: Path, pack: Path, quick: bool, hour_minutes: float, targets_only: bool = False) -> dict[str, object]:
    probe = build([Item(np.zeros(8000, dtype=np.float32), None, "silence")], "clean", seed=0, lead_s=0.5)
    try:
        startups = [listen(probe, engine, "prompt", None, code).wall_s for _ in range(1 if quick else 3)]
    except RuntimeError as error:
        print(f"   skipped: {error}", flush=True)
        return {"engine": engine, "skipped": str(error).split(": ", 1)[-1].splitlines()[0]}
    intents = _intents(code)
    plan = stages.Plan()
    stages.coffee_jobs(plan, pack, quick, targets_only)
    stages.phrase_jobs(plan, "taught", hm.taught(intents), quick, targets_only)
    if not targets_only:
        stages.phrase_jobs(plan, "spoken", hm.spoken(intents), quick)
    stages.word_jobs(plan, quick)
    stages.talk_jobs(plan, quick, targets_only)
    results: dict[str, list[stages.Result]] = {}
    for number, job in enumerate(plan.jobs):
        result = stages.run(job, engine, code)
        results.setdefault(job.stage, []).append(result)
        if number % 10 == 0:
            print(f"   {number + 1}/{len(plan.jobs)} {job.stage} {job.group} {job.context} {job.condition}", flush=True)
    hour = stages.hour_of_talk(0.5 if quick else hour_minutes)
    cost = listen(hour, engine, "turn", None, code)
    every = [r for stage in results.values() for r in stage]
    return {"engine": engine, "results": results, "startup_s": statistics.median(startups), "cost": cost,
            "rss_mb": max([cost.rss_mb] + [r.run.rss_mb for r in every]), "description": cost.notes[:1]}


def _intents(code: Path) -> object:
    sys.path.insert(0, str(code))
    from assistant.intent_yaml import load_intents

    return load_intents()


# ---------------------------------------------------------------- the report


def accuracy(row: dict[str, float]) -> float:
    return 100.0 * row["right"] / row["commands"] if row["commands"] else float("nan")


def cell(row: dict[str, float]) -> str:
    if not row["commands"]:
        return "—"
    n = int(row["commands"])
    return f"{pct(int(row['right']), n)} ({n}); wrong {pct(int(row['wrong']), n)}"


def render(parts: list[dict[str, Any]], minutes: float, quick: bool, targets_only: bool = False) -> str:
    lines = [SECTION, ""]
    command = "python scripts/bench_asr.py" + (" --quick" if quick else " --committed" + (" --targets-only" if targets_only else ""))
    lines += [f"- Reproduce: `{command}` (from the repository root; about {sum(float(p['minutes']) for p in parts):.0f} min for the engines below)",
              "- Measured: " + "; ".join(f"{p['engine']} on {p['date']}, code {p['code']}, {float(p['minutes']):.0f} min" + (" (QUICK)" if p["quick"] else "") for p in parts),
              f"- Machine: {machine_line()}",
              "- Packages: " + ", ".join(f"{k} {v}" for k, v in package_versions(["ctranslate2", "onnxruntime", "tokenizers", "pocketsphinx", "vosk", "numpy"]).items()),
              "- Interface: every figure comes from `hearth listen --input STREAM.wav --context C --json` processes on streams with the noise running through the pauses (see the docstring of scripts/bench_asr.py).",
              ""]
    if quick:
        lines += ["**Quick run: two or three items per stage. These figures mean nothing.**", ""]
    rows = [row for p in parts for row in p["rows"]]
    lines += ["### Targets", "", markdown_table(["engine", "measure", "target", "measured", "met?"], rows, "lllrl"), ""]
    for p in parts:
        lines += list(p["lines"])
    return "\n".join(lines).rstrip() + "\n"


def at_least(target: float) -> Callable[[float], bool]:
    return lambda value: value >= target


def engine_rows(section: dict[str, object]) -> list[list[str]]:
    """This engine's rows of the targets table."""
    rows: list[list[str]] = []

    def add(engine: str, measure: str, target: str, value: float, shown: str, ok: Callable[[float], bool]) -> None:
        verdict = "—" if value != value else ("yes" if ok(value) else "**NO**")
        rows.append([engine, measure, target, shown, verdict])

    engine = str(section["engine"])
    if "skipped" in section:
        rows.append([engine, "all", "—", f"skipped: {section['skipped']}", "n/a"])
        return rows
    results = section["results"]
    assert isinstance(results, dict)
    coffee = stages.totals(results["coffee"])
    for condition, label, target in (("clean", "clean", "coffee_clean"), ("babble10", "babble 10 dB", "coffee_babble")):
        row = coffee[("heldout", "*", condition)]
        add(engine, f"coffee orders, real people, held-out half, {label}", f">= {TARGETS[target]:.0f}%", accuracy(row), cell(row), at_least(TARGETS[target]))
    taught = stages.totals(results["taught"])
    held = stages.HELD_OUT
    worst_wrong = 0.0
    for condition, label, target in (("clean", "clean", "taught_clean"), ("babble10", "babble 10 dB", "taught_babble")):
        row = taught[(held, "*", condition)]
        add(engine, f"taught phrasings, live contexts, held-out voices, {label}", f">= {TARGETS[target]:.0f}%", accuracy(row), cell(row), at_least(TARGETS[target]))
        if row["commands"]:
            worst_wrong = max(worst_wrong, 100.0 * row["wrong"] / row["commands"])
    add(engine, "taught phrasings, wrong actions, worst condition", "<= 1%", worst_wrong, f"{worst_wrong:.1f}%", lambda v: v <= TARGETS["wrong"])
    false = stages.totals(results["false"])
    for source in ("LibriSpeech read speech (heldout half)", "synthesized dinner-table talk"):
        for context in ("idle", "prompt", "turn"):
            row = false[(source, context, "clean")]
            rate = row["false"] / row["hours"] if row["hours"] else float("nan")
            add(engine, f"false activations / hour, {source}, {context}", "<= 0.5", rate, f"{rate:.2f} ({int(row['false'])} in {row['hours']:.2f} h)", lambda v: v <= TARGETS["fa"])
    waits = stages.latencies(results["taught"])
    p95 = 1000 * percentile(waits, 95) if waits else float("nan")
    add(engine, "decision latency p95, end of speech to detection (taught phrasings)", "<= 500 ms", p95, f"{p95:.0f} ms (n={len(waits)})", lambda v: v <= TARGETS["latency_ms"])
    cost = section["cost"]
    rtf = cost.cpu_s / cost.audio_s  # type: ignore[attr-defined]
    add(engine, f"real-time factor, {cost.audio_s / 60:.0f} min of continuous conversation", "<= 0.3", rtf, f"{rtf:.3f}", lambda v: v <= TARGETS["rtf"])  # type: ignore[attr-defined]
    rss = float(section["rss_mb"])  # type: ignore[arg-type]
    add(engine, "peak RSS of a `hearth listen` process", "<= 500 MB", rss, f"{rss:.0f} MB", lambda v: v <= TARGETS["rss_mb"])
    startup = float(section["startup_s"])  # type: ignore[arg-type]
    add(engine, "start-up (median wall time of `hearth listen` on half a second)", "<= 3 s", startup, f"{startup:.1f} s", lambda v: v <= TARGETS["startup_s"])
    return rows


def engine_section(section: dict[str, object]) -> list[str]:
    engine = str(section["engine"])
    if "skipped" in section:
        return [f"### {engine}", "", f"Skipped: {section['skipped']}.", ""]
    results = section["results"]
    assert isinstance(results, dict)
    lines = [f"### {engine}", ""]
    lines += [f"Coffee orders (real people; % right (items); wrong):", "", grid(stages.totals(results["coffee"]), ["tune", "heldout"], "half"), ""]
    taught = stages.totals(results["taught"])
    lines += ["The phrasings hearth teaches, in their live contexts:", "", grid(taught, sorted({k[0] for k in taught if k[0] != "*"}), "voices"), ""]
    lines += ["By context (all voices):", "", context_grid(results["taught"]), ""]
    spoken = results.get("spoken", [])
    if spoken:
        lines += ["Every spoken form of every command (asrbench/hearth_material.py SPOKEN), in its live context:", "", grid(stages.totals(spoken), sorted({k[0] for k in stages.totals(spoken) if k[0] != "*"}), "voices"), ""]
    else:
        lines += ["(`--targets-only`: the tuning half, the tuning voices and the table of every spoken form were not measured in this run.)", ""]
    words = stages.totals(results["words"])[("*", "*", "clean")]
    lines += [f"Real people saying one word (Speech Commands; yes and no in the confirm context, the other words in prompt must give nothing): {cell(words)}; false activations on the other words: {int(words['false'])}.", ""]
    lines += ["False activations (clean talk, per context):", "", fa_table(stages.totals(results["false"])), ""]
    waits = stages.latencies(results["taught"]) + stages.latencies(spoken)
    if waits:
        lines += [f"Decision latency, end of speech to detection, all right detections of hearth's commands: p50 {1000 * percentile(waits, 50):.0f} ms, p95 {1000 * percentile(waits, 95):.0f} ms, max {1000 * max(waits):.0f} ms (n={len(waits)}).", ""]
    cost = section["cost"]
    lines += [f"Cost on {cost.audio_s / 60:.0f} min of continuous conversation (context turn): {cost.cpu_s:.0f} CPU s, real-time factor {cost.cpu_s / cost.audio_s:.3f}, "  # type: ignore[attr-defined]
              f"{len(cost.detections)} detections; peak RSS {float(section['rss_mb']):.0f} MB; start-up {float(section['startup_s']):.1f} s.", ""]  # type: ignore[attr-defined,arg-type]
    weak = weakest(results["taught"] + spoken)
    if weak:
        lines += ["Weakest commands (all voices and conditions): " + "; ".join(weak), ""]
    return lines


def grid(table: dict[tuple[str, str, str], dict[str, float]], groups: list[str], label: str) -> str:
    rows = [[g] + [cell(table[(g, "*", c)]) for c in stages.CONDITIONS] for g in groups]
    return markdown_table([label, "clean", "babble 10 dB"], rows, "lrr")


def context_grid(results: list[stages.Result]) -> str:
    table = stages.totals(results)
    rows = []
    for context in ("idle", "prompt", "turn"):
        merged = {c: {k: sum(table[(g, context, c)][k] for g in {key[0] for key in table if key[0] != "*"}) for k in ("commands", "right", "wrong")} for c in stages.CONDITIONS}
        rows.append([context] + [cell(merged[c]) for c in stages.CONDITIONS])
    return markdown_table(["context", "clean", "babble 10 dB"], rows, "lrr")


def fa_table(table: dict[tuple[str, str, str], dict[str, float]]) -> str:
    sources = sorted({k[0] for k in table if k[0] != "*"})
    rows = []
    for source in sources:
        row = [source]
        for context in ("idle", "prompt", "turn"):
            t = table[(source, context, "clean")]
            row.append(f"{int(t['false'])} in {t['hours']:.2f} h ({t['false'] / t['hours']:.2f}/h)" if t["hours"] else "—")
        rows.append(row)
    return markdown_table(["talk", "idle", "prompt", "turn"], rows, "lrrr")


def weakest(results: list[stages.Result]) -> list[str]:
    by_text: dict[str, list[str]] = {}
    for r in results:
        for outcome in r.score.outcomes:
            if outcome.item.expect is not None:
                by_text.setdefault(outcome.item.tag.split("|", 1)[-1], []).append(outcome.verdict)
    ranked = sorted(by_text.items(), key=lambda kv: kv[1].count("right") / len(kv[1]))
    return [f'"{text}" {pct(v.count("right"), len(v))}' for text, v in ranked[:5] if v.count("right") < len(v)]


if __name__ == "__main__":
    sys.exit(main())
