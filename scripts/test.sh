#!/usr/bin/env bash
# Set everything up (first time only), start a virtual audio device, and run the whole test suite.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -q -rs "$@"
