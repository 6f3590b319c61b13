#!/usr/bin/env bash
# Set everything up (first time only) and run the whole test suite in two tiers: first everything but
# the live audio tests (fast), then the live tier, whose tests start their own virtual PulseAudio
# devices (tests/virtual_audio.py), so no sound card is needed.
#
# A skipped test fails the run: on a machine set up by scripts/setup.sh --test every test can run, so
# a skip means a missing install step, not a pass. HEARTH_ALLOW_SKIPS=1 turns that off (a machine
# with a real microphone, say). Arguments, if any, are passed to one pytest run instead of the tiers.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh --test
pytest=(.venv/bin/python -m pytest -q -rs --durations=5)
[ "${HEARTH_ALLOW_SKIPS:-}" = 1 ] || pytest+=(--no-skips)
if [ "$#" -gt 0 ]; then
    exec "${pytest[@]}" "$@"
fi
echo "test: fast tier (everything but the live audio tests), one worker per core"
"${pytest[@]}" -m "not audio" -n "${HEARTH_TEST_WORKERS:-auto}"
echo "test: live tier (real audio through virtual PulseAudio devices)"
"${pytest[@]}" -m audio
