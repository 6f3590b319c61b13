#!/usr/bin/env bash
# Set everything up (first time only), then start hearth with any arguments given.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/hearth" "$@"
