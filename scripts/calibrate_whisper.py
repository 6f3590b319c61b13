"""Collect the Whisper engine's decision evidence on the TUNING material only, for calibration.

    python scripts/calibrate_whisper.py [--quick] [--out /tmp/whisper-evidence.jsonl]

Each line of the output is one decoded segment: its scores (no free transcript: it never leaves
the recognizer), the grammar phrase it was about, and what the segment really was (a command
with its expected intent, or talk). scripts/fit_whisper_rule.py reads it and reports the rule.
The held-out material (coffee orders at odd positions, flite and Piper voices, the other half of
LibriSpeech) is never touched here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from asrbench import hearth_material as hm  # noqa: E402
from asrbench.material import TUNE_VOICES, available, coffee_orders, librispeech, read_16k, trim  # noqa: E402
from asrbench.streams import Item, as_pcm, build, item_of  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("/tmp/whisper-evidence.jsonl"))
    parser.add_argument("--coffee-pack", type=Path, default=Path("/tmp/coffee.yaml"))
    parser.add_argument("--only", default="", help="comma list of: coffee,hearth,talk,libri")
    args = parser.parse_args()
    from assistant.asr.vad import Segmenter, SileroVad
    from assistant.asr.whisper_engine import WhisperRecognizer, WhisperRuntime
    from assistant.asr.whisper_model import find_whisper_model
    from assistant.intent_yaml import load_intents

    model = find_whisper_model()
    assert model is not None
    runtime = WhisperRuntime(model)
    hearth = load_intents()
    coffee = load_intents([args.coffee_pack])
    voices = available(TUNE_VOICES)[: 3 if args.quick else None]
    jobs = []  # (name, intents, context, items, condition)
    only = set(filter(None, args.only.split(",")))
    if not only or "coffee" in only:
        orders = coffee_orders("tune")[: 20 if args.quick else None]
        order_items = [Item(trim(read_16k(o.path), 30.0), (o.intent, o.slots), o.path.name) for o in orders]
        for condition in ("clean", "babble10"):
            for n in range(0, len(order_items), 25):
                jobs.append((f"coffee/{condition}/{n}", coffee, "any", order_items[n : n + 25], condition))
    if not only or "hearth" in only:
        phrases = hm.spoken(hearth) + hm.taught(hearth)
        for context in ("idle", "prompt", "turn"):
            mine = [p for p in phrases if p.context == context]
            items = hm.items(mine, voices)
            for condition in ("clean", "babble10"):
                for n in range(0, len(items), 30):
                    jobs.append((f"hearth/{context}/{condition}/{n}", hearth, context, items[n : n + 30], condition))
    talk = hm.talk_items(voices)
    libri = [Item(read_16k(p), None, f"libri|{p.name}") for p in librispeech("tune")[: 6 if args.quick else None]]
    for context in ("idle", "prompt", "turn"):
        if not only or "talk" in only:
            jobs.append((f"talk/{context}", hearth, context, talk, "clean"))
        if not only or "libri" in only:
            for n in range(0, len(libri), 10):
                jobs.append((f"libri/{context}/{n}", hearth, context, libri[n : n + 10], "clean"))
    with args.out.open("w") as out:
        for number, (name, intents, context, items, condition) in enumerate(jobs):
            stream = build(items, condition, seed=number)
            recognizer = WhisperRecognizer(runtime, Segmenter(SileroVad()), measure_both=True)
            recognizer.keep_evidence = True
            recognizer.set_grammar(intents.grammar(context))
            pcm = as_pcm(stream)
            started = time.perf_counter()
            for at in range(0, len(pcm), 640):
                recognizer.accept(pcm[at : at + 640])
            recognizer.flush()
            out.write(json.dumps({"job": name, "context": context, "condition": condition, "audio_s": len(pcm) / 32000,
                                  "items": [[item.tag, [item.expect[0], [list(kv) for kv in item.expect[1]]] if item.expect else None, list(span)]
                                            for item, span in zip(stream.items, stream.spans)]}) + "\n")
            for evidence in recognizer.evidence:
                index = item_of(stream, evidence.start_s, evidence.end_s)
                item = stream.items[index] if index is not None else None
                match = intents.match(evidence.phrase, context, enforce_wake=True) if evidence.phrase else None
                got = None if match is None else [match.intent, sorted((k, str(v)) for k, v in match.slots.items())]
                record = dataclasses.asdict(evidence) | {
                    "job": name, "condition": condition, "item": item.tag if item else None, "index": index,
                    "expect": [item.expect[0], [list(kv) for kv in item.expect[1]]] if item and item.expect else None,
                    "got": got, "span": list(stream.spans[index]) if index is not None else None,
                }
                out.write(json.dumps(record) + "\n")
            print(f"{name}: {len(items)} items, {len(recognizer.evidence)} segments, {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
