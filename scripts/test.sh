#!/usr/bin/env bash
# Set everything up (first time only) and run the whole test suite; the audio tests start their own
# virtual PulseAudio devices (tests/virtual_audio.py), so no sound card is needed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -q -rs "$@"
