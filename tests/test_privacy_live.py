"""Privacy, verified: a hands-free evening in which the couple says a marker sentence, then a search.

A real hearth process hears real (synthesized) speech through the virtual microphone, with debug
logging and transcripts on. The couple's marker sentence is said while nothing runs, and during
both partners' turns. Afterwards the data folder, the process's home, temporary and working
folders, new files in /tmp and everything it printed (stdout and stderr, logs included) are
searched: the marker's words appear nowhere, and no audio file was written anywhere hearth may
write. hearth can only "hear" command phrases, and keeps none of them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from live_harness import HearthProcess, command_audio, heard_intents, pulse_env, say, short_exercises
from virtual_audio import virtual_audio

pytestmark = [pytest.mark.audio, pytest.mark.slow]

MARKER = "the purple walrus knits a scarf beside the zanzibar lighthouse"
MARKER_WORDS = [b"walrus", b"zanzibar", b"lighthouse", b"scarf"]
AUDIO_SUFFIXES = {".wav", ".wave", ".raw", ".pcm", ".flac", ".ogg", ".opus", ".mp3", ".au", ".aiff"}
AUDIO_MAGIC = (b"RIFF", b"fLaC", b"OggS", b"ID3", b".snd", b"FORM")


def files_under(*folders: Path) -> list[Path]:
    return [path for folder in folders if folder.exists() for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]


def marker_words_in(data: bytes) -> list[bytes]:
    lowered = data.lower()
    return [word for word in MARKER_WORDS if word in lowered]


def looks_like_audio(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4)
    return path.suffix.lower() in AUDIO_SUFFIXES or head.startswith(AUDIO_MAGIC)


def test_what_the_couple_says_is_kept_nowhere(tmp_path: Path) -> None:
    home, private_tmp, work, data = (tmp_path / name for name in ("home", "tmp", "work", "data"))
    for folder in (home, private_tmp, work):
        folder.mkdir()
    exercises = short_exercises(tmp_path / "exercises", 0.25)
    started = time.time()
    before_tmp = set(os.listdir("/tmp"))
    with virtual_audio() as va:
        env = pulse_env(va.env) | {"HOME": str(home), "TMPDIR": str(private_tmp), "XDG_DATA_HOME": str(home / "share"),
                                   "XDG_CACHE_HOME": str(home / "cache"), "XDG_CONFIG_HOME": str(home / "config")}
        args = ["--data-dir", str(data), "--names", "Alex", "Sam", "--exercises", str(exercises), 
                "--debug", "--debug-transcripts", "--rate", "190"]
        hearth = HearthProcess(args, env, cwd=work)
        try:
            hearth.wait_for("^Listening", timeout=60)
            va.inject(command_audio(MARKER, voice="en-us", wpm=150))  # at the table, before anything starts
            say(va, hearth, "start our daily check in")
            first_turn = hearth.wait_for(r"^\[timer: 0:15", timeout=90)
            va.inject(command_audio(MARKER, voice="en+m3", wpm=140, seed=1))  # Alex talks during the turn
            say(va, hearth, "juniper, that's all from me")
            hearth.wait_for(r"^\[timer: 0:15", timeout=90, after=first_turn + 1)
            va.inject(command_audio(MARKER, voice="en+f3", wpm=130, seed=2))  # and Sam in theirs
            hearth.wait_for("Thank you both", timeout=90)
        finally:
            hearth.stop()
    assert heard_intents(hearth) == ["start", "done_turn"], hearth.lines  # the marker itself triggered nothing

    printed = "\n".join(hearth.lines).encode()
    assert marker_words_in(printed) == [], "the marker was printed or logged"
    assert any(line.startswith("hearth: ") for line in hearth.lines) and any("(heard: " in line for line in hearth.lines)

    written = files_under(data, home, private_tmp, work)
    assert any(path.name == "hearth.sqlite3" for path in written)  # the evening itself was saved
    for path in written:
        assert marker_words_in(path.read_bytes()) == [], f"{path} holds the marker"
        assert not looks_like_audio(path), f"{path} looks like audio"
    new_in_tmp = [Path("/tmp", name) for name in set(os.listdir("/tmp")) - before_tmp]
    for path in files_under(*[p for p in new_in_tmp if p.is_dir()]) + [p for p in new_in_tmp if p.is_file()]:
        try:
            if path.stat().st_mtime < started or path.stat().st_size > 50_000_000:
                continue
            content = path.read_bytes()
        except OSError:
            continue  # another test's file, gone already
        assert marker_words_in(content) == [], f"{path} holds the marker"
