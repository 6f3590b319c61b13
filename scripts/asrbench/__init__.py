"""Measurement kit for hearth's speech recognition: material, streams, scoring (see scripts/bench_asr.py)."""
