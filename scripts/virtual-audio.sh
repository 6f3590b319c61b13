#!/usr/bin/env bash
# Virtual audio devices for hearth's end-to-end tests and for trying hearth on a machine without a
# sound card. Starts a private PulseAudio daemon (user mode, works as root) with:
#   hearth_speaker        null sink, the default output; record what was played from hearth_speaker.monitor
#   hearth_mic_feed       null sink that test audio is played into (paplay/pacat --device=hearth_mic_feed)
#   hearth_mic            remap of hearth_mic_feed.monitor, the default input (the "microphone")
#   hearth_speaker2       a second null sink, for tests that route hearth to a chosen output device;
#                         ALSA (and so sounddevice) sees it as the device "hearth_speaker2" through
#                         DIR/asound.conf, which ALSA_CONFIG_PATH adds to the system's configuration
#   hearth_keepalive      null sink fed by loopbacks from the sinks' monitors, so idle null sinks keep
#                         rendering in small blocks instead of ~2 s ones (new readers otherwise wait
#                         0.5-2 s for their first frames)
# The daemon's socket and state live in a private directory, so it never collides with a desktop's
# PulseAudio. ALSA clients (PortAudio/sounddevice, aplay) reach it through the "pulse" ALSA plugin,
# which honours PULSE_SERVER.
#
# Usage:
#   eval "$(scripts/virtual-audio.sh start [DIR])"   # prints `export PULSE_SERVER=... PULSE_RUNTIME_PATH=... [ALSA_CONFIG_PATH=...]`
#   scripts/virtual-audio.sh stop [DIR]
#   scripts/virtual-audio.sh status [DIR]
# DIR defaults to $HEARTH_AUDIO_DIR or /tmp/hearth-virtual-audio.
set -euo pipefail

cmd="${1:-}"
dir="${2:-${HEARTH_AUDIO_DIR:-/tmp/hearth-virtual-audio}}"
socket="$dir/native"

pa_env() {
    env PULSE_SERVER="unix:$socket" PULSE_RUNTIME_PATH="$dir" PULSE_STATE_PATH="$dir/state" \
        PULSE_COOKIE="$dir/cookie" HOME="$dir" XDG_RUNTIME_DIR="$dir" "$@"
}

write_script() {
    cat >"$dir/hearth.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$socket
load-module module-null-sink sink_name=hearth_speaker rate=48000 channels=2 sink_properties=device.description=hearth_speaker
load-module module-null-sink sink_name=hearth_mic_feed rate=16000 channels=1 sink_properties=device.description=hearth_mic_feed
load-module module-remap-source source_name=hearth_mic master=hearth_mic_feed.monitor source_properties=device.description=hearth_mic
load-module module-null-sink sink_name=hearth_speaker2 rate=48000 channels=2 sink_properties=device.description=hearth_speaker2
load-module module-null-sink sink_name=hearth_keepalive rate=16000 channels=1 sink_properties=device.description=hearth_keepalive
load-module module-loopback source=hearth_speaker2.monitor sink=hearth_keepalive latency_msec=20 source_dont_move=true sink_dont_move=true
load-module module-loopback source=hearth_speaker.monitor sink=hearth_keepalive latency_msec=20 source_dont_move=true sink_dont_move=true
load-module module-loopback source=hearth_mic_feed.monitor sink=hearth_keepalive latency_msec=20 source_dont_move=true sink_dont_move=true
set-default-sink hearth_speaker
set-default-source hearth_mic
PA
    cat >"$dir/asound.conf" <<ALSA
pcm.hearth_speaker2 {
    type pulse
    device hearth_speaker2
    hint { show on
           description "hearth's second virtual speaker" }
}
ALSA
}

start() {
    command -v pulseaudio >/dev/null || { echo "virtual-audio: pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)" >&2; exit 3; }
    mkdir -p "$dir/state"
    chmod 700 "$dir"
    if pa_env pactl info >/dev/null 2>&1; then
        echo "virtual-audio: already running in $dir" >&2
    else
        write_script
        # -n: no default.pa (no hardware probing); exit-idle-time=-1: stay up between test streams.
        pa_env pulseaudio -n -F "$dir/hearth.pa" --daemonize=yes --exit-idle-time=-1 --use-pid-file=yes \
            --disallow-exit=no --log-target="file:$dir/pulseaudio.log" --log-level=notice \
            >/dev/null 2>&1 || { echo "virtual-audio: pulseaudio failed to start; see $dir/pulseaudio.log" >&2; exit 1; }
        for _ in $(seq 1 100); do
            pa_env pactl info >/dev/null 2>&1 && break
            sleep 0.05
        done
        pa_env pactl info >/dev/null 2>&1 || { echo "virtual-audio: daemon not answering; see $dir/pulseaudio.log" >&2; exit 1; }
    fi
    local alsa=""
    [ -f /usr/share/alsa/alsa.conf ] && alsa=" ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$dir/asound.conf"
    echo "export PULSE_SERVER=unix:$socket PULSE_RUNTIME_PATH=$dir$alsa"
}

stop() {
    local pid=""
    [ -f "$dir/pid" ] && pid="$(cat "$dir/pid" 2>/dev/null || true)"
    if [ -S "$socket" ] || [ -n "$pid" ]; then
        pa_env pulseaudio --kill >/dev/null 2>&1 || true
        if [ -n "$pid" ]; then
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$socket" "$dir/pid"
    fi
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) pa_env pactl info && pa_env pactl list short sinks && pa_env pactl list short sources ;;
    *) echo "usage: $0 start|stop|status [DIR]" >&2; exit 2 ;;
esac
