"""False-activation and accuracy study for the PocketSphinx recognizer (see docs/false-activations.md).

Collects second-pass evidence for every grammar hit, with verification switched off, on
  * synthesized commands (espeak-ng and flite voices, 2 speeds, clean / white noise / babble), and
  * ordinary read speech (LibriSpeech clips in ../shared/speech, fed as one continuous evening),
then replays the acceptance rule offline so thresholds can be swept without decoding again.

    python scripts/fa_study.py collect --out /tmp/fa.jsonl [--wakes juniper,marigold] [--quick]
    python scripts/fa_study.py collect --heldout --wakes juniper /tmp/fa_heldout.jsonl
    python scripts/fa_study.py report /tmp/fa.jsonl
    python scripts/fa_study.py sweep /tmp/fa.jsonl
    python scripts/fa_study.py words        # speech_commands yes/no/stop/go in the prompt context

Only numbers and the *grammar* phrase are written (never what the free decoders heard).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.asr.base import Grammar, Hypothesis  # noqa: E402
from assistant.asr.pocketsphinx_engine import PocketSphinxRecognizer, _Segment  # noqa: E402
from assistant.asr.verify import SegmentEvidence, VerifierSettings, judge  # noqa: E402

SPEECH = Path(os.environ.get("HEARTH_SPEECH", Path(__file__).resolve().parents[2] / "shared" / "speech"))
CACHE = Path(tempfile.gettempdir()) / "hearth_synth"

IDLE = [
    "start our check in", "start the thirty six questions", "start the appreciation practice",
    "start the vulnerability invitation", "start listening turns", "start the ten minute question",
    "start device free talk", "continue the thirty six questions", "pick up where we left off",
    "what can we do", "what can i say",
]
PROMPT = [
    "next question", "repeat that", "go back", "skip this one", "pause please", "i'm done",
    "more time", "how much time is left", "stop the exercise", "yes stop", "no keep going",
    "what can i say",
]
TURN = ["pause", "how much time is left", "i'm done", "more time"]
WAKES = ["juniper", "marigold", "rosemary", "evergreen", "lavender", "hello hearth", "hearth"]

# (engine, voice, speed): espeak-ng words/min, flite duration stretch
VOICES = [
    ("espeak", "en-us", 150), ("espeak", "en-us", 190), ("espeak", "en", 150), ("espeak", "en", 190),
    ("espeak", "en+f3", 150), ("espeak", "en+f3", 190), ("espeak", "en+m3", 150),
    ("espeak", "en+m3", 190), ("espeak", "en-gb-scotland", 170), ("espeak", "en-us+f2", 170),
    ("flite", "slt", 1.0), ("flite", "slt", 0.8), ("flite", "kal16", 1.0), ("flite", "kal16", 0.8),
    ("flite", "awb", 1.0), ("flite", "rms", 1.0),
]
CONDITIONS = ["clean", "white20", "white10", "white5", "babble10", "babble5"]


def dev_jsgf(name: str, phrases: Iterable[str]) -> str:
    """A flat development grammar; the intents module compiles compact ones from templates."""
    return f"#JSGF V1.0;\ngrammar {name};\npublic <cmd> = {' | '.join(phrases)};\n"


def turn_jsgf(wake: str) -> str:
    """Turn context: a command only counts when addressed by the wake name first."""
    return f"#JSGF V1.0;\ngrammar turn;\npublic <cmd> = {wake} ( {' | '.join(TURN)} );\n"


def grammar(context: str, jsgf: str, phrases: list[str]) -> Grammar:
    words = frozenset(w for p in phrases for w in p.split())
    return Grammar(context, jsgf, tuple(phrases), words)


def contexts(wake: str) -> dict[str, Grammar]:
    turn = [f"{wake} {c}" for c in TURN]
    return {
        "idle": grammar("idle", dev_jsgf("idle", IDLE), IDLE),
        "prompt": grammar("prompt", dev_jsgf("prompt", PROMPT), PROMPT),
        "turn": grammar("turn", turn_jsgf(wake), turn),
    }


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

    def __init__(self, g: Grammar) -> None:
        super().__init__(g, verify=False, settings=VerifierSettings(max_duration_s=6.0))
        self.hits: list[tuple[SegmentEvidence, float, float]] = []
        self.long_segments = 0

    def _decode(self, segment: _Segment) -> Hypothesis | None:
        if segment.pcm is None:
            self.long_segments += 1
        hyp = super()._decode(segment)
        if self.last_evidence is not None:
            self.hits.append((self.last_evidence, segment.start_s, segment.end_s))
        return hyp


def feed(rec: PocketSphinxRecognizer, audio: np.ndarray, block: int = 320) -> None:
    data = audio.astype("<i2").tobytes()
    for i in range(0, len(data), block * 2):
        rec.accept(data[i:i + block * 2])
    rec.flush()


def evidence_row(ev: SegmentEvidence, **extra: Any) -> dict[str, Any]:
    row = {k: v for k, v in dataclasses.asdict(ev).items() if k not in ("free_phones", "free_words")}
    row["free_phones"] = list(ev.free_phones)  # phone symbols only, for re-scoring offline
    row.update(extra)
    return row


def positives_job(args: tuple[str, str, float, str, str]) -> list[dict[str, Any]]:
    engine, voice, speed, condition, wake = args
    rows = []
    for ctx, g in contexts(wake).items():
        if wake != WAKES[0] and ctx != "turn":
            continue
        probe = Probe(g)
        for i, phrase in enumerate(g.phrases):
            probe.hits.clear()
            speech = synth(phrase, engine, voice, speed)
            audio = with_condition(speech, condition, seed=hash((voice, speed, phrase)) & 0xFFFF)
            feed(probe, audio)
            base = dict(kind="pos", context=ctx, wake=wake, voice=f"{engine}:{voice}:{speed}",
                        condition=condition, expected=phrase)
            if not probe.hits:
                rows.append(dict(base, grammar_text=""))
            rows.extend(evidence_row(ev, **base) for ev, _, _ in probe.hits)
            probe.reset()
    return rows


def negatives_job(args: tuple[str, str, int]) -> list[dict[str, Any]]:
    """Feed all LibriSpeech clips as one evening (0.5 s gaps) through one context's grammar."""
    ctx, wake, vad_mode = args
    g = contexts(wake)[ctx]
    probe = Probe(g)
    gap = np.zeros(8000, dtype=np.int16)
    t0, seconds = time.process_time(), 0.0
    for f in librispeech_files():
        x = read_wav(f)
        seconds += (x.size + gap.size) / 16000
        feed(probe, np.concatenate([x, gap]))
    cpu = time.process_time() - t0
    rows = [evidence_row(ev, kind="neg", context=ctx, wake=wake, start_s=s, end_s=e)
            for ev, s, e in probe.hits]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(dict(kind="negstats", context=ctx, wake=wake, seconds=seconds, cpu_s=cpu,
                     long_segments=probe.long_segments, rss_mb=rss))
    return rows


def collect(out: Path, wakes: list[str], quick: bool, heldout: bool = False) -> None:
    """--quick: every 3rd voice setup (the tuning set); --heldout: the other voice setups."""
    if heldout:
        voices = [v for i, v in enumerate(VOICES) if i % 3]
    else:
        voices = VOICES[::3] if quick else VOICES
    conds = ["clean", "white10", "babble10"] if quick else CONDITIONS
    if heldout:
        conds = ["clean", "white20", "white10", "white5", "babble10"]
    jobs_pos = [(e, v, s, c, w) for w in wakes for e, v, s in voices for c in conds]
    jobs_neg = [(c, wakes[0], 0) for c in ("idle", "prompt")] + [("turn", w, 0) for w in wakes]
    for e, v, s in voices:  # synthesize serially first: espeak/flite runs are cheap
        for phrase in IDLE + PROMPT + [f"{w} {c}" for w in wakes for c in TURN]:
            synth(phrase, e, v, s)
    with ProcessPoolExecutor(2) as pool, open(out, "w") as f:
        for rows in pool.map(negatives_job, jobs_neg):
            f.writelines(json.dumps(r) + "\n" for r in rows)
            f.flush()
        for rows in pool.map(positives_job, jobs_pos):
            f.writelines(json.dumps(r) + "\n" for r in rows)


# ---------------------------------------------------------------- offline scoring

def load(path: Path) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def to_evidence(r: dict[str, Any]) -> SegmentEvidence:
    fields = {f.name for f in dataclasses.fields(SegmentEvidence)}
    data = {k: r.get(k, ()) for k in fields}
    for k in ("grammar_phones", "free_phones", "free_words"):
        data[k] = tuple(data[k])
    return SegmentEvidence(**data)


def accepted(r: dict[str, Any], s: VerifierSettings | None) -> bool:
    if not r.get("grammar_text") or not r.get("complete", True):
        return False
    if s is None:
        return True
    return judge(to_evidence(r), s) is not None


def score(rows: list[dict[str, Any]], s: VerifierSettings | None) -> dict[str, Any]:
    """Per-context false activations/hour and per-condition accuracy under settings `s`."""
    res: dict[str, Any] = {}
    stats = {(r["context"], r["wake"]): r for r in rows if r["kind"] == "negstats"}
    for (ctx, wake), st in stats.items():
        n = sum(1 for r in rows if r["kind"] == "neg" and r["context"] == ctx and r["wake"] == wake
                and accepted(r, s))
        res[f"FA/h {ctx}:{wake}"] = (n, round(n / st["seconds"] * 3600, 2))
    items: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] == "pos":
            key = (r["context"], r["wake"], r["voice"], r["condition"], r["expected"])
            items.setdefault(key, []).append(r)
    tally: dict[tuple[str, str, str], list[int]] = {}
    for (ctx, wake, _, cond, exp), hits in items.items():
        got = [h["grammar_text"] for h in hits if accepted(h, s)]
        outcome = 0 if got == [exp] else (2 if not got else 1)  # right / wrong / missed
        t = tally.setdefault((f"{ctx}:{wake}" if ctx == "turn" else ctx, cond, ""), [0, 0, 0])
        t[outcome] += 1
    for (ctx, cond, _), (ok, wrong, miss) in sorted(tally.items()):
        n = ok + wrong + miss
        res[f"acc {ctx} {cond}"] = f"{ok / n:.1%} right {wrong / n:.1%} wrong {miss / n:.1%} missed (n={n})"
    return res


def report(path: Path) -> None:
    rows = load(path)
    for st in (r for r in rows if r["kind"] == "negstats"):
        print(f"cost {st['context']}:{st['wake']}: RTF {st['cpu_s'] / st['seconds']:.4f} "
              f"peak RSS {st['rss_mb']:.0f} MB, {st['long_segments']} overlong segments skipped")
    for label, s in [("grammar only (no verification)", None),
                     ("length gate only", VerifierSettings(min_evidence=-1e9)),
                     ("defaults", VerifierSettings())]:
        print(f"\n== {label}")
        for k, v in score(rows, s).items():
            print(f"  {k}: {v}")


def sweep(path: Path) -> None:
    rows = load(path)
    for weight in (0.0, 1.0, 2.0, 3.0):
        for edge in (-1.5, -2.0, -2.5, -2.8, -3.0, -3.5):
            s = VerifierSettings(min_evidence=edge, distance_weight=weight)
            res = score(rows, s)
            fa = {k.split()[1]: v[0] for k, v in res.items() if k.startswith("FA")}
            acc = {k[4:]: v.split()[0] for k, v in res.items() if k.startswith("acc") and
                   ("white10" in k or "clean" in k)}
            print(weight, edge, fa, acc)


def words() -> None:
    """speech_commands clips (one word, said alone) through the prompt context."""
    g = contexts(WAKES[0])["prompt"]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["collect", "report", "sweep", "words"])
    ap.add_argument("path", nargs="?", default="/tmp/fa.jsonl")
    ap.add_argument("--wakes", default=",".join(WAKES))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--heldout", action="store_true")
    a = ap.parse_args()
    if a.cmd == "collect":
        collect(Path(a.path), a.wakes.split(","), a.quick, a.heldout)
    elif a.cmd == "report":
        report(Path(a.path))
    elif a.cmd == "sweep":
        sweep(Path(a.path))
    else:
        words()


if __name__ == "__main__":
    main()
