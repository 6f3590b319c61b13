"""Fit the Whisper engine's acceptance rule on evidence from scripts/calibrate_whisper.py.

    python scripts/fit_whisper_rule.py /tmp/whisper-evidence.jsonl

The rule (whisper_engine.WhisperSettings): accept the free transcript when it is a grammar phrase;
otherwise accept the grammar-held phrase when its mean log-probability per token is within the
context's margin of the free transcript's and the two differ in few enough words; never when the
model's no-speech probability is high. This prints, per context, how commands and talk fare for a
grid of margins, and the largest margin that keeps false activations on talk at zero.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def load(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def accepts(r: dict, margin: float, distance: float, no_speech: float) -> bool:  # type: ignore[type-arg]
    if r["no_speech"] > no_speech:
        return False
    if r["free_parsed"]:
        return True
    if r["constrained_logprob"] is None:
        return False
    return r["constrained_logprob"] >= r["free_logprob"] - margin and r["word_distance"] <= distance


def evaluate(records: list[dict], margin: float, distance: float, no_speech: float) -> dict[str, int]:  # type: ignore[type-arg]
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        ok = accepts(r, margin, distance, no_speech)
        if r["expect"] is not None:
            if not ok:
                counts["missed"] += 1
            elif r["got"] == r["expect"]:
                counts["right"] += 1
            else:
                counts["wrong"] += 1
        else:
            counts["talk"] += 1
            counts["false"] += ok
    return counts


def main(argv: list[str]) -> int:
    records = load(Path(argv[0]))
    groups: dict[str, list[dict]] = defaultdict(list)  # type: ignore[type-arg]
    for r in records:
        kind = r["job"].split("/")[0]
        groups[f"{kind}/{r['context']}/{r['condition']}"].append(r)
    for distance in (0.34, 0.5, 1.0, 9.0):
        print(f"== word distance <= {distance}")
        for margin in (0.3, 0.5, 0.75, 1.0, 1.5, 2.0):
            row = []
            for name in sorted(groups):
                c = evaluate(groups[name], margin, distance, 0.6)
                if name.startswith(("talk", "libri")):
                    row.append(f"{name}: FA {c['false']}/{c['talk']}")
                else:
                    total = c["right"] + c["wrong"] + c["missed"]
                    row.append(f"{name}: {c['right']}/{total} w{c['wrong']}")
            print(f"margin {margin}: " + "; ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
