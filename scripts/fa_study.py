"""False-activation and accuracy study for the PocketSphinx recognizer (see docs/false-activations.md).

Collects second-pass evidence for every grammar hit, with verification switched off, on
  * synthesized commands (espeak-ng and flite voices, clean / white noise / babble), phrases drawn
    from the real intents grammar (`assistant.intent_yaml.load_intents().grammar(context)`), and
  * ordinary read speech (LibriSpeech clips in ../shared/speech, fed as one continuous evening,
    twice: with 0.5 s of silence between clips and joined without gaps, as a recording given to
    `hearth listen` is; the same talk meets the segmenter's 32 ms frames at another phase and
    with other history, and borderline boundaries move: a talk segment 2.75 s long in one was cut
    4 s long in the other, so both are samples of how talk reaches the recognizer),
then fits and replays the acceptance rule offline, without decoding again.

Honest split: the rule is fitted on the TUNE voices (every 3rd voice setup) and the EVEN LibriSpeech
clips; it is reported on the other voices and the ODD clips.

    python scripts/fa_study.py collect /tmp/fa.jsonl        # ~15-25 min on 2 cores
    python scripts/fa_study.py negatives /tmp/fa.jsonl --gap 0   # add one evening to a collection
    python scripts/fa_study.py fit /tmp/fa.jsonl            # prints VerifierSettings(...)
    python scripts/fa_study.py report /tmp/fa.jsonl         # held-out tables for the defaults
    python scripts/fa_study.py words                        # speech_commands yes/no/stop/go

Only numbers and the *grammar* phrase are written (never what the free decoders heard).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.asr.base import Grammar, Hypothesis  # noqa: E402
from assistant.asr.pocketsphinx_engine import SEGMENTATION, VERIFIER, PocketSphinxRecognizer  # noqa: E402
from assistant.asr.vad import Segment, SegmenterSettings, default_segmenter  # noqa: E402
from assistant.asr.verify import FEATURES, SegmentEvidence, VerifierSettings, features, judge  # noqa: E402

SPEECH = Path(os.environ.get("HEARTH_SPEECH", Path(__file__).resolve().parents[2] / "shared" / "speech"))
CACHE = Path(tempfile.gettempdir()) / "hearth_synth"

CONTEXTS = ("idle", "prompt", "turn")
PHRASES_PER_CONTEXT = 10

# (engine, voice, speed): espeak-ng words/min, flite duration stretch
VOICES = [
    ("espeak", "en-us", 150), ("espeak", "en-us", 190), ("espeak", "en", 150), ("espeak", "en", 190),
    ("espeak", "en+f3", 150), ("espeak", "en+f3", 190), ("espeak", "en+m3", 150),
    ("espeak", "en+m3", 190), ("espeak", "en-gb-scotland", 170), ("espeak", "en-us+f2", 170),
    ("flite", "slt", 1.0), ("flite", "slt", 0.8), ("flite", "kal16", 1.0), ("flite", "kal16", 0.8),
    ("flite", "awb", 1.0), ("flite", "rms", 1.0),
]
TUNE_VOICES = VOICES[::3]
HELDOUT_VOICES = [v for i, v in enumerate(VOICES) if i % 3]
CONDITIONS = ["clean", "white20", "white10", "white5", "babble20", "babble10"]


def voice_name(engine: str, voice: str, speed: float) -> str:
    return f"{engine}:{voice}:{speed}"


def contexts() -> dict[str, Grammar]:
    """The real context grammars (wake name from intents/exercises.yaml)."""
    from assistant.intent_yaml import load_intents

    intents = load_intents()
    return {c: intents.grammar(c) for c in CONTEXTS}


def test_phrases(g: Grammar, n: int = PHRASES_PER_CONTEXT) -> list[str]:
    """A fixed sample of the context's whole phrases that a person would say in one breath
    (<= 7 words); the same sample for every voice, so conditions are comparable. Small grammars
    (hearth's are 0.5-10 thousand phrases) are enumerated and sampled with a seeded generator;
    a huge one is sampled from its graph instead of being enumerated."""
    every = g.phrases(50_000)
    if every is None:
        every = g.graph.sample(40 * n, seed=sum(map(ord, g.context)))
    pool = sorted(p for p in every if len(p.split()) <= 7)
    rng = np.random.default_rng(sum(map(ord, g.context)))
    return [pool[i] for i in sorted(rng.choice(len(pool), n, replace=False))]


# ---------------------------------------------------------------- audio helpers

def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def synth(text: str, engine: str, voice: str, speed: float) -> np.ndarray:
    """Synthesize `text` at 16 kHz (cached in the temp dir; synthetic voices only)."""
    CACHE.mkdir(exist_ok=True)
    out = CACHE / f"{engine}_{voice}_{speed}_{text.replace(' ', '_')}.wav"
    if not out.exists():
        raw = out.with_suffix(".raw.wav")
        if engine == "espeak":
            cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text]
        else:
            cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={1 / speed:.3f}",
                   "-t", text, "-o", str(raw)]
        subprocess.run(cmd, check=True, capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
        raw.unlink()
    return read_wav(out)


def librispeech_files() -> list[Path]:
    with open(SPEECH / "manifest.csv") as f:
        return [SPEECH / r["file"] for r in csv.DictReader(f) if r["file"].startswith("librispeech/")]


def babble(n_samples: int, seed: int) -> np.ndarray:
    """Sum of 6 LibriSpeech talkers, looped to length: a dinner table's background talk."""
    rng = np.random.default_rng(seed)
    files = librispeech_files()
    mix = np.zeros(n_samples)
    for i in rng.choice(len(files), 6, replace=False):
        x = read_wav(files[i]).astype(np.float64)
        start = rng.integers(0, max(1, x.size - n_samples))
        x = np.resize(x[start:], n_samples)
        mix += x / (np.sqrt(np.mean(x ** 2)) + 1e-9)
    return mix


def with_condition(speech: np.ndarray, condition: str, seed: int) -> np.ndarray:
    """Pad with silence and mix noise at the condition's SNR (relative to the speech's RMS)."""
    pad = np.zeros(8000)
    x = np.concatenate([pad, speech.astype(np.float64), pad, pad])
    if condition == "clean":
        return x.astype(np.int16)
    snr = float(condition.lstrip("whitebabl"))
    active = speech[np.abs(speech) > 300].astype(np.float64)
    p_speech = np.mean(active ** 2) if active.size else np.mean(speech.astype(np.float64) ** 2)
    noise = (np.random.default_rng(seed).normal(size=x.size) if condition.startswith("white")
             else babble(x.size, seed))
    noise *= np.sqrt(p_speech / 10 ** (snr / 10) / np.mean(noise ** 2))
    return np.clip(x + noise, -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------- evidence collection

class Probe(PocketSphinxRecognizer):
    """The recognizer with verification off, keeping the evidence of every grammar hit."""

    def __init__(self, g: Grammar, segmentation: SegmenterSettings = SEGMENTATION) -> None:
        verifier = VerifierSettings(max_duration_s=6.0)
        segmenter = default_segmenter(dataclasses.replace(segmentation, max_s=verifier.max_duration_s))
        super().__init__(g, verify=False, settings=verifier, pure_phone_loop=True, segmenter=segmenter)
        self.hits: list[tuple[SegmentEvidence, float, float]] = []
        self.long_segments = 0

    def _decode(self, segment: Segment) -> Hypothesis | None:
        if segment.pcm is None:
            self.long_segments += 1
        hyp = super()._decode(segment)
        if self.last_evidence is not None:
            self.hits.append((self.last_evidence, segment.start_s, segment.end_s))
        return hyp


def feed(rec: PocketSphinxRecognizer, audio: np.ndarray, block: int = 320, flush: bool = True) -> None:
    data = audio.astype("<i2").tobytes()
    for i in range(0, len(data), block * 2):
        rec.accept(data[i:i + block * 2])
    if flush:
        rec.flush()


def evidence_row(ev: SegmentEvidence, **extra: Any) -> dict[str, Any]:
    row = {k: v for k, v in dataclasses.asdict(ev).items() if k not in ("free_phones", "free_words")}
    row["free_phones"] = list(ev.free_phones)  # phone symbols only, for re-scoring offline
    row.update(extra)
    return row


def positives_job(args: tuple[str, str, float, str, SegmenterSettings]) -> list[dict[str, Any]]:
    engine, voice, speed, condition, segmentation = args
    rows = []
    for ctx, g in contexts().items():
        probe = Probe(g, segmentation)
        for phrase in test_phrases(g):
            probe.hits.clear()
            speech = synth(phrase, engine, voice, speed)
            seed = sum(map(ord, f"{voice}{speed}{phrase}")) & 0xFFFF
            feed(probe, with_condition(speech, condition, seed=seed))
            base = dict(kind="pos", context=ctx, voice=voice_name(engine, voice, speed),
                        condition=condition, expected=phrase)
            if not probe.hits:
                rows.append(dict(base, grammar_text=""))
            rows.extend(evidence_row(ev, **base) for ev, _, _ in probe.hits)
            probe.reset()
    return rows


GAPS_S = (0.5, 0.0)  # silence between LibriSpeech clips: each is its own evening (see above)


def negatives_job(ctx: str, segmentation: SegmenterSettings, gap_s: float = 0.5) -> list[dict[str, Any]]:
    """Feed all LibriSpeech clips as one evening (`gap_s` of digital silence between them) through
    one context's grammar. Each hit is tagged with the clip in which its segment was reported:
    even clips tune, odd clips are held out."""
    probe = Probe(contexts()[ctx], segmentation)
    gap = np.zeros(round(gap_s * 16000), dtype=np.int16)
    stream = f"gap{gap_s:g}"
    t0, seconds = time.process_time(), [0.0, 0.0]
    rows: list[dict[str, Any]] = []
    files = librispeech_files()
    for i, f in enumerate(files):
        x = read_wav(f)
        seconds[i % 2] += (x.size + gap.size) / 16000
        probe.hits.clear()
        # Flushing at each clip's end would cut the talk running on into the next clip (no gap)
        # into a short, command-sized segment that no microphone stream ever produces.
        feed(probe, np.concatenate([x, gap]), flush=gap_s > 0 or i == len(files) - 1)
        rows += [evidence_row(ev, kind="neg", context=ctx, clip=i, stream=stream) for ev, _, _ in probe.hits]
    cpu = time.process_time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(dict(kind="negstats", context=ctx, stream=stream, seconds_even=seconds[0], seconds_odd=seconds[1],
                     cpu_s=cpu, long_segments=probe.long_segments, rss_mb=rss))
    return rows


def collect(out: Path, segmentation: SegmenterSettings = SEGMENTATION) -> None:
    """Evidence of every grammar hit, segments cut with `segmentation` (PocketSphinx's own by
    default; `--segmenter` measures others). The first row records the settings used."""
    gs = contexts()
    phrases = [p for g in gs.values() for p in test_phrases(g)]
    for e, v, s in VOICES:  # synthesize serially first: espeak/flite runs are cheap
        for phrase in phrases:
            synth(phrase, e, v, s)
    jobs_pos = [(e, v, s, c, segmentation) for e, v, s in VOICES for c in CONDITIONS]
    with ProcessPoolExecutor(2) as pool, open(out, "w") as f:
        f.write(json.dumps(dict(kind="meta", segmentation=dataclasses.asdict(segmentation))) + "\n")
        futures = [pool.submit(negatives_job, c, segmentation, g) for g in GAPS_S for c in CONTEXTS]
        futures += [pool.submit(positives_job, job) for job in jobs_pos]
        for future in as_completed(futures):
            f.writelines(json.dumps(r) + "\n" for r in future.result())
            f.flush()


def collect_negatives(out: Path, gap_s: float, segmentation: SegmenterSettings = SEGMENTATION) -> None:
    """Append one more LibriSpeech evening (`gap_s` between clips) to a collection."""
    with ProcessPoolExecutor(2) as pool, open(out, "a") as f:
        futures = [pool.submit(negatives_job, c, segmentation, gap_s) for c in CONTEXTS]
        for future in as_completed(futures):
            f.writelines(json.dumps(r) + "\n" for r in future.result())
            f.flush()


# ---------------------------------------------------------------- offline scoring

def load(path: Path) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def to_evidence(r: dict[str, Any]) -> SegmentEvidence:
    fields = {f.name for f in dataclasses.fields(SegmentEvidence)}
    data = {k: r[k] for k in fields if k in r}
    for k in ("grammar_phones", "free_phones", "free_words", "word_probs", "word_margins"):
        data[k] = tuple(data.get(k, ()))
    return SegmentEvidence(**data)


def feature_vector(r: dict[str, Any], names: tuple[str, ...]) -> list[float]:
    """verify.features plus study-only candidates (pure phone loop margin)."""
    ev = to_evidence(r)
    values = features(ev)
    pure = r.get("pure_phone_score")
    values["pure_margin"] = (max(-10.0, (ev.grammar_score - pure) / ev.n_frames)
                             if pure is not None else values["margin"])
    values["margin_x_distance"] = values["margin"] * values["distance"]
    return [values[n] for n in names]


def accepted(r: dict[str, Any], s: VerifierSettings | None) -> bool:
    if not r.get("grammar_text") or not r.get("complete", True):
        return False
    if s is None:
        return True
    return judge(to_evidence(r), s) is not None


def same_command(got: str, expected: str, context: str) -> bool:
    """Right means the same action: phrases that the intent matcher turns into the same intent
    and slots count alike ("a check in" for "the check in", "nine minute" for "nine more
    minutes"); another slot value or another command is wrong."""
    return got == expected or action(got, context) == action(expected, context) != ("", ())


@functools.lru_cache(maxsize=None)
def action(phrase: str, context: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """(intent, slots) the matcher makes of a phrase in `context`; ("", ()) for none."""
    found = _intents().match(phrase, context)
    return (found.intent, tuple(sorted(found.slots.items()))) if found else ("", ())


@functools.lru_cache(maxsize=1)
def _intents() -> Any:
    from assistant.intent_yaml import load_intents

    return load_intents()


def split_of(r: dict[str, Any]) -> str:
    """'tune' or 'heldout' (voices for positives, clip parity for LibriSpeech)."""
    if r["kind"] == "neg":
        return "tune" if r["clip"] % 2 == 0 else "heldout"
    tune = {voice_name(*v) for v in TUNE_VOICES}
    return "tune" if r["voice"] in tune else "heldout"


def score(rows: list[dict[str, Any]], s: VerifierSettings | None, split: str) -> dict[str, Any]:
    """Per-context false activations/hour and per-condition accuracy under settings `s`."""
    res: dict[str, Any] = {}
    for ctx in CONTEXTS:  # every evening of the context (each gap setting) counts
        seconds = sum(st["seconds_even" if split == "tune" else "seconds_odd"] for st in rows
                      if st["kind"] == "negstats" and st["context"] == ctx)
        if not seconds:
            continue
        n = sum(1 for r in rows if r["kind"] == "neg" and r["context"] == ctx
                and split_of(r) == split and accepted(r, s))
        res[f"FA {ctx}"] = (n, round(seconds / 60, 1), round(n / seconds * 3600, 2))
    items: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] == "pos" and split_of(r) == split:
            key = (r["context"], r["voice"], r["condition"], r["expected"])
            items.setdefault(key, []).append(r)
    tally: dict[tuple[str, str], list[int]] = {}
    for (ctx, _, cond, exp), hits in items.items():
        got = [h["grammar_text"] for h in hits if accepted(h, s)]
        outcome = 0 if len(got) == 1 and same_command(got[0], exp, ctx) else (2 if not got else 1)
        tally.setdefault((ctx, cond), [0, 0, 0])[outcome] += 1
    for (ctx, cond), counts in sorted(tally.items()):
        res[f"acc {ctx} {cond}"] = counts
    return res


def table(rows: list[dict[str, Any]], s: VerifierSettings | None, split: str) -> str:
    """Markdown: accuracy (right / wrong) per condition and context, then FA per context."""
    res = score(rows, s, split)
    lines = ["| condition | " + " | ".join(CONTEXTS) + " |", "|---" * (len(CONTEXTS) + 1) + "|"]
    for cond in CONDITIONS:
        cells = []
        for ctx in CONTEXTS:
            ok, wrong, miss = res.get(f"acc {ctx} {cond}", [0, 0, 0])
            n = max(1, ok + wrong + miss)
            cells.append(f"{ok / n:.0%} ({wrong / n:.0%} wrong, n={n})")
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    fa = [f"{res[f'FA {c}'][0]} in {res[f'FA {c}'][1]} min ({res[f'FA {c}'][2]}/h)" for c in CONTEXTS
          if f"FA {c}" in res]
    lines.append("| false activations | " + " | ".join(fa) + " |")
    return "\n".join(lines)


def report(path: Path) -> None:
    rows = load(path)
    for st in (r for r in rows if r["kind"] == "negstats"):
        print(f"cost {st['context']}: RTF {st['cpu_s'] / (st['seconds_even'] + st['seconds_odd']):.4f}"
              f" peak RSS {st['rss_mb']:.0f} MB, {st['long_segments']} overlong segments skipped")
    for label, s in [("grammar only (no verification)", None),
                     ("old rule: margin - 2 distance >= -2.5", VerifierSettings(
                         weights=(("margin", 1.0), ("distance", -2.0)), bias=2.5, edge=0.0,
                         context_edges=())),
                     ("defaults", VERIFIER)]:
        for split in ("tune", "heldout"):
            print(f"\n== {label}, {split}\n{table(rows, s, split)}")


# ---------------------------------------------------------------- fitting the rule

def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000) -> np.ndarray:
    """Class-balanced L2 logistic regression by gradient descent; returns [bias, w...] on x as given."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    weight = np.where(y == 1, 0.5 / max(1, y.sum()), 0.5 / max(1, (1 - y).sum()))
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (weight * (p - y)) + l2 * np.r_[0, w[1:]]
        w -= 2.0 * grad
    coef = w[1:] / sd
    return np.r_[w[0] - (coef * mu).sum(), coef]


def training_set(rows: list[dict[str, Any]], names: tuple[str, ...]
                 ) -> tuple[np.ndarray, np.ndarray, list[str], list[bool]]:
    """TUNE split only: right grammar hits are 1; conversation and wrong commands are 0.
    Also returns each row's context and whether it is conversation (LibriSpeech)."""
    x, y, ctx, talk = [], [], [], []
    for r in rows:
        if r["kind"] not in ("pos", "neg") or not r.get("grammar_text") or not r.get("complete", True):
            continue
        if split_of(r) != "tune":
            continue
        x.append(feature_vector(r, names))
        y.append(1 if r["kind"] == "pos" and same_command(r["grammar_text"], r["expected"], r["context"])
                 else 0)
        ctx.append(r["context"])
        talk.append(r["kind"] == "neg")
    return np.array(x), np.array(y), ctx, talk


def fit(path: Path, names: tuple[str, ...], guard: float) -> VerifierSettings:
    """Fit weights, then put each context's edge `guard` above its best-scoring TUNE conversation
    hit (so the tune half has zero false activations); report both splits. Wrong commands of the
    synthesized voices train the weights as negatives but do not set the edges (they are
    reported as "wrong" in the accuracy tables)."""
    rows = load(path)
    x, y, ctx, talk = training_set(rows, names)
    coef = fit_logistic(x, y)
    lin = coef[0] + x @ coef[1:]
    edges = []
    for c in CONTEXTS:
        neg = [v for v, k, conversation in zip(lin, ctx, talk) if k == c and conversation]
        edges.append((c, round(float(max(neg, default=0.0)) + guard, 3)))
    s = dataclasses.replace(VERIFIER, weights=tuple((n, round(float(w), 4)) for n, w in zip(names, coef[1:])),
                            bias=round(float(coef[0]), 4), edge=max(e for _, e in edges),
                            context_edges=tuple(edges))
    print(s)
    return s


def main_fit(path: Path, names: str, guard: float) -> None:
    s = fit(path, tuple(names.split(",")), guard)
    rows = load(path)
    if set(s.weights and [n for n, _ in s.weights]) <= set(features(to_evidence(
            next(r for r in rows if r["kind"] == "neg")))):
        for split in ("tune", "heldout"):
            print(f"\n== fitted, {split}\n{table(rows, s, split)}")
    else:
        print("(study-only features: evaluate with `evaluate`)")
        evaluate_offline(rows, s)


def evaluate_offline(rows: list[dict[str, Any]], s: VerifierSettings) -> None:
    """Like `table`, for rules that use study-only features: accept iff linear score >= edge."""
    names = tuple(n for n, _ in s.weights)
    w = np.array([v for _, v in s.weights])

    def ok(r: dict[str, Any]) -> bool:
        if not r.get("grammar_text") or not r.get("complete", True):
            return False
        if not s.min_duration_s <= r["duration_s"] <= s.max_duration_s:
            return False
        return bool(s.bias + np.dot(w, feature_vector(r, names)) >= s.edge_for(r["context"]))

    for split in ("tune", "heldout"):
        fa = {c: sum(1 for r in rows if r["kind"] == "neg" and r["context"] == c and
                     split_of(r) == split and ok(r)) for c in CONTEXTS}
        acc: dict[tuple[str, str], list[int]] = {}
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in rows:
            if r["kind"] == "pos" and split_of(r) == split:
                groups.setdefault((r["context"], r["voice"], r["condition"], r["expected"]), []).append(r)
        for (c, _, cond, exp), hits in groups.items():
            got = [h["grammar_text"] for h in hits if ok(h)]
            acc.setdefault((c, cond), [0, 0])[0] += len(got) == 1 and same_command(got[0], exp, c)
            acc[(c, cond)][1] += 1
        print(split, "FA", fa)
        for c in CONTEXTS:
            print("  ", c, {cond: f"{acc[(c, cond)][0] / acc[(c, cond)][1]:.0%}" for cond in CONDITIONS
                            if (c, cond) in acc})


def words() -> None:
    """speech_commands clips (one word, said alone) through the prompt context."""
    g = contexts()["prompt"]
    rec = PocketSphinxRecognizer(g)
    for word in ("yes", "no", "stop", "go"):
        folder = SPEECH / "speech_commands" / word
        got: dict[str, int] = {}
        clips = sorted(folder.glob("*.wav"))
        for clip in clips:
            hyps = []
            rec.reset()
            x = np.concatenate([np.zeros(4000, np.int16), read_wav(clip), np.zeros(8000, np.int16)])
            data = x.tobytes()
            for i in range(0, len(data), 640):
                hyps += rec.accept(data[i:i + 640])
            hyps += rec.flush()
            key = " / ".join(h.text for h in hyps) or "(nothing)"
            got[key] = got.get(key, 0) + 1
        print(word, len(clips), got)


def segmenter_settings(overrides: str) -> SegmenterSettings:
    """PocketSphinx's segmenter settings with `name=value,...` overrides."""
    changes: dict[str, Any] = {}
    for item in filter(None, overrides.split(",")):
        name, _, value = item.partition("=")
        kind = type(getattr(SEGMENTATION, name.strip()))
        changes[name.strip()] = kind(value)
    return dataclasses.replace(SEGMENTATION, **changes)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["collect", "negatives", "report", "fit", "words"])
    ap.add_argument("--gap", type=float, default=0.0, help="negatives: silence between clips (s)")
    ap.add_argument("path", nargs="?", default="/tmp/fa.jsonl")
    ap.add_argument("--features", default=",".join(FEATURES))
    ap.add_argument("--guard", type=float, default=0.5)
    ap.add_argument("--segmenter", default="", metavar="NAME=VALUE,...",
                    help="collect: segmenter settings other than PocketSphinx's own (e.g. hangover_s=0.5)")
    a = ap.parse_args()
    if a.cmd == "collect":
        collect(Path(a.path), segmenter_settings(a.segmenter))
    elif a.cmd == "negatives":
        collect_negatives(Path(a.path), a.gap, segmenter_settings(a.segmenter))
    elif a.cmd == "report":
        report(Path(a.path))
    elif a.cmd == "fit":
        main_fit(Path(a.path), a.features, a.guard)
    else:
        words()


if __name__ == "__main__":
    main()
