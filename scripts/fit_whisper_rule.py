"""Fit the Whisper engine's acceptance rule on evidence from scripts/calibrate_whisper.py.

    python scripts/fit_whisper_rule.py /tmp/whisper-evidence.jsonl

The rule (whisper_engine.WhisperSettings): accept the free transcript when it is a grammar phrase;
otherwise accept the grammar-held phrase when its mean log-probability per token is within the
context's margin of the free transcript's (and, optionally, the two differ in few enough words);
never when the model's no-speech probability is high. Scored like the benchmark, per item: right
= exactly one accepted detection with the right intent and slots; false activations = accepted
detections on talk or in the pauses, per hour of audio.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

Record = dict[str, Any]


def load(path: Path) -> tuple[list[Record], list[Record]]:
    jobs, records = [], []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            (jobs if "items" in row else records).append(row)
    return jobs, records


def accepts(r: Record, margin: float, distance: float, no_speech: float) -> bool:
    if r["no_speech"] > no_speech:
        return False
    if r["free_parsed"]:
        return True
    if r["constrained_logprob"] is None or r["got"] is None:
        return False
    return r["constrained_logprob"] >= r["free_logprob"] - margin and r["word_distance"] <= distance


def evaluate(job: Record, records: list[Record], margin: float, distance: float, no_speech: float) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    by_item: dict[int, list[Record]] = defaultdict(list)
    for r in records:
        if accepts(r, margin, distance, no_speech):
            if r["index"] is None:
                counts["false"] += 1
            else:
                by_item[r["index"]].append(r)
    for index, (_, expect, _) in enumerate(job["items"]):
        heard = by_item.get(index, [])
        if expect is None:
            counts["false"] += len(heard)
            continue
        counts["commands"] += 1
        if not heard:
            counts["missed"] += 1
        elif len(heard) == 1 and heard[0]["got"] == expect:
            counts["right"] += 1
        else:
            counts["wrong"] += 1
    counts["hours"] = job["audio_s"] / 3600
    return counts


def table(jobs: list[Record], records: list[Record], margins: dict[str, float], distance: float, no_speech: float) -> dict[str, dict[str, float]]:
    per_job: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        per_job[r["job"]].append(r)
    groups: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for job in jobs:
        kind = job["job"].split("/")[0]
        margin = margins.get(job["context"], margins.get("default", 0.75))
        for key, value in evaluate(job, per_job[job["job"]], margin, distance, no_speech).items():
            groups[f"{kind}/{job['context']}/{job['condition']}"][key] += value
    return groups


def show(groups: dict[str, dict[str, float]]) -> str:
    cells = []
    for name in sorted(groups):
        g = groups[name]
        if g["commands"]:
            cells.append(f"{name}: {g['right'] / g['commands']:.0%} w{int(g['wrong'])} FA{int(g['false'])}")
        else:
            cells.append(f"{name}: FA {int(g['false'])} ({g['false'] / max(g['hours'], 1e-9):.1f}/h)")
    return "; ".join(cells)


def main(argv: list[str]) -> int:
    jobs, records = load(Path(argv[0]))
    for distance in (0.5, 1.0, 9.0):
        for no_speech in (0.6, 0.9):
            print(f"== word distance <= {distance}, no-speech <= {no_speech}")
            for margin in (0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
                print(f"margin {margin}: " + show(table(jobs, records, {"default": margin}, distance, no_speech)))
    return 0


if __name__ == "__main__" and not (len(sys.argv) > 2 and sys.argv[2] == "search"):
    sys.exit(main(sys.argv[1:]))


# ---------------------------------------------------------------- the search over rules


def accepts_rule(r: Record, rule: dict[str, float]) -> bool:
    if r["no_speech"] > rule["no_speech"]:
        return False
    if r["free_parsed"]:
        return True
    if r["constrained_logprob"] is None or r["got"] is None:
        return False
    noisy = r.get("above_floor_db", 99.0) < rule["noisy_below_db"]
    margin = rule["margin_noisy"] if noisy else rule["margin"]
    return r["constrained_logprob"] >= r["free_logprob"] - margin and r["word_distance"] <= rule["distance"]


def score_rule(jobs: list[Record], per_job: dict[str, list[Record]], rule: dict[str, float]) -> dict[str, float]:
    global accepts
    saved = accepts
    accepts = lambda r, margin, distance, no_speech: accepts_rule(r, rule)  # noqa: E731
    try:
        totals: dict[str, float] = defaultdict(float)
        for job in jobs:
            counts = evaluate(job, per_job[job["job"]], 0, 0, 0)
            kind = job["job"].split("/")[0]
            key = "talk" if kind in ("talk", "libri") else f"{kind}/{job['condition']}"
            for name, value in counts.items():
                totals[f"{key}:{name}"] += value
        return totals
    finally:
        accepts = saved


def search(path: Path) -> None:
    jobs, records = load(path)
    per_job: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        per_job[r["job"]].append(r)
    rows = []
    for margin in (0.5, 0.75, 1.0, 1.25):
        for margin_noisy in (margin, margin + 0.5, margin + 1.0):
            for distance in (0.5, 0.75, 1.0, 1.5):
                for no_speech in (0.5, 0.7, 0.9):
                    for noisy_below in (20.0,):
                        rule = {"margin": margin, "margin_noisy": margin_noisy, "distance": distance, "no_speech": no_speech, "noisy_below_db": noisy_below}
                        t = score_rule(jobs, per_job, rule)
                        acc = {k: t[f"{k}:right"] / max(1, t[f"{k}:commands"]) for k in ("hearth/clean", "hearth/babble10", "coffee/clean", "coffee/babble10")}
                        wrong = sum(t[f"{k}:wrong"] for k in ("hearth/clean", "hearth/babble10")) / max(1, t["hearth/clean:commands"] + t["hearth/babble10:commands"])
                        rows.append((t["talk:false"], t["hearth/babble10:false"] + t["coffee/babble10:false"], -sum(acc.values()), rule, acc, wrong))
    rows.sort(key=lambda r: (r[0], r[1] > 2, r[2]))
    for fa, stray, _, rule, acc, wrong in rows[:25]:
        print(f"talk FA {int(fa)} babble-stray FA {int(stray)} wrong {wrong:.1%} " + " ".join(f"{k} {v:.1%}" for k, v in acc.items()) + f"  {rule}")


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[2] == "search":
    search(Path(sys.argv[1]))
