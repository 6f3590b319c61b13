"""The `hearth` command: argument parsing and turning errors into one-line fixes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__, diagnostics
from .app import FakeClock, RealClock, build_app, partner_names, run_text
from .asr.select import ENGINES, open_recognizer
from .errors import ConfigError, ContentError, DeviceError, HearthError
from .checks import Problem, problems
from .exercises import check_paths, load_catalog
from .intents import CONTEXTS, load_intents
from .phrasebook import Phrasebook
from .store import Store, default_data_dir, repair
from .tts import DEFAULT_RATE_WPM, DEFAULT_VOLUME, Speaker

EXIT_BUG = 70


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options accepted both before and after the subcommand."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--data-dir", type=Path, default=default(None), help="where progress is kept (default: $XDG_DATA_HOME/hearth)")
    parser.add_argument("--intents", type=Path, action="append", default=default([]), metavar="PATH",
                        help="an intent file or folder; replaces the built-in set unless it says 'extends: builtin'")
    parser.add_argument("--exercises", type=Path, action="append", default=default([]), metavar="PATH",
                        help="extra exercise files or folders to load beside the built-in ones")
    parser.add_argument("--names", nargs=2, metavar=("FIRST", "SECOND"), default=default(None), help="the partners' names for this run")
    parser.add_argument("--wake-name", default=default(None), help="the name that addresses hearth while you talk (default: juniper)")
    parser.add_argument("--text", action="store_true", default=default(False), help="type commands instead of speaking them")
    parser.add_argument("--mute", action="store_true", default=default(False), help="print prompts instead of speaking them")
    parser.add_argument("--fake-clock", action="store_true", default=default(False),
                        help="text mode: time passes only with ':wait SECONDS' lines (for scripts and tests)")
    parser.add_argument("--debug", action="store_true", default=default(False), help="log details to the terminal")
    parser.add_argument("--engine", choices=ENGINES, default=default("auto"),
                        help="speech recognizer: Vosk when a model is found, else the built-in PocketSphinx (default: auto)")
    parser.add_argument("--model", type=Path, default=default(None), help="a Vosk model folder (also $HEARTH_VOSK_MODEL, or models/)")


def _voice_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options of a live session (plain `hearth` and `hearth start`)."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--input-device", default=default(None), help="microphone: a number or name from `hearth devices`")
    parser.add_argument("--input", type=Path, default=default(None), metavar="FILE.wav",
                        help="replay a recording instead of the microphone (any rate or channels)")
    parser.add_argument("--voice", default=default(None), help="TTS voice (see `hearth voices`)")
    parser.add_argument("--rate", type=int, default=default(None), help=f"speaking rate, words per minute (default {DEFAULT_RATE_WPM})")
    parser.add_argument("--volume", type=float, default=default(None), help=f"speaking volume, 0 to 1 (default {DEFAULT_VOLUME})")
    parser.add_argument("--tts-to", type=Path, default=default(None), metavar="DIR", help="write each utterance to DIR as WAV instead of playing it")
    parser.add_argument("--debug-transcripts", action="store_true", default=default(False),
                        help="print each recognized command phrase to the terminal (never to a file)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hearth", description="An offline voice companion for couples' connection exercises.")
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    _common(parser, suppress=False)
    _voice_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _common(sub, suppress=True)
        return sub

    start = command("start", "start one exercise right away")
    _voice_options(start, suppress=True)
    start.add_argument("exercise", help="check_in, thirty_six_questions, appreciation, vulnerability, listening_turns, ten_minute_question, device_free_talk")
    start.add_argument("--minutes", type=float, help="length of each speaking turn where the exercise allows it")
    setup = command("setup", "save the partners' names and, optionally, voice preferences and the wake name")
    _voice_options(setup, suppress=True)
    setup.add_argument("first", nargs="?", help="the first partner's name")
    setup.add_argument("second", nargs="?", help="the second partner's name")
    setup.add_argument("--crisis-line", metavar="TEXT",
                       help='your local crisis line as hearth should say it, e.g. "988, the Suicide and Crisis Lifeline"'
                            ' (default: "your local emergency number"; "" resets it)')
    check = command("check", "validate exercise files (default: the built-in ones) and intent files")
    check.add_argument("paths", nargs="*", type=Path, help="exercise files or folders")
    intents = command("intents", "print the phrases hearth listens for")
    intents.add_argument("--context", choices=CONTEXTS, default="idle")
    intents.add_argument("--jsgf", action="store_true", help="print the compiled JSGF grammar instead")
    history = command("history", "recent sessions and your check-in streak")
    history.add_argument("--limit", type=int, default=15)
    command("repair", "salvage a damaged progress file")
    command("devices", "list microphones and speakers")
    command("voices", "list the text-to-speech voices")
    model = command("model", "the optional Vosk speech model")
    model.add_argument("action", choices=("status", "download"), help="status: which engine runs and why; download: fetch and verify the English model")
    command("doctor", "check microphone, speaker, voice, recognition and data folder, with a fix for each problem")
    listen = command("listen", "print the commands hearth hears in a recording (the measurement interface)")
    listen.add_argument("--input", type=Path, required=True, metavar="FILE.wav", help="any WAV; converted to 16 kHz mono")
    listen.add_argument("--context", choices=CONTEXTS + ("any",), default="any",
                        help="which commands are live (any: prompt and turn commands, unaddressed)")
    listen.add_argument("--json", action="store_true", help="one JSON object per line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="hearth: %(message)s")
    try:
        return _run(args)
    except HearthError as error:
        print(f"hearth: {error.message}", file=sys.stderr)
        if error.fix:
            print(f"  fix: {error.fix}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error worth a trace
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _run(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or default_data_dir()
    handlers: dict[str, Callable[[argparse.Namespace, Path], int]] = {
        "setup": _setup, "check": _check, "intents": _intents, "history": _history, "repair": _repair, "listen": _listen,
        "devices": lambda args, data_dir: diagnostics.show_devices(),
        "voices": lambda args, data_dir: diagnostics.show_voices(),
        "model": lambda args, data_dir: diagnostics.model_command(args.action, args.model),
        "doctor": lambda args, data_dir: diagnostics.run_doctor(data_dir, args.engine, args.model),
    }
    return handlers.get(args.command, _session)(args, data_dir)


PREFERENCES = {"wake_name": str, "voice": str, "rate": int, "volume": float, "crisis_line": str}


def _apply_preferences(args: argparse.Namespace, data_dir: Path) -> None:
    """Options not given on the command line come from `hearth setup`, then from the defaults."""
    store = Store(data_dir)
    saved = store.settings()
    store.close()
    for name, kind in PREFERENCES.items():
        if getattr(args, name, None) is None and name in saved:
            setattr(args, name, kind(saved[name]))
    args.rate = args.rate if args.rate is not None else DEFAULT_RATE_WPM
    args.volume = args.volume if args.volume is not None else DEFAULT_VOLUME


def _session(args: argparse.Namespace, data_dir: Path) -> int:
    _apply_preferences(args, data_dir)
    if not args.text:
        from .session import run_voice

        return run_voice(args, data_dir)
    app = build_app(
        data_dir,
        intent_paths=args.intents,
        exercise_paths=args.exercises,
        speaker=_text_speaker(args),
        clock=FakeClock() if args.fake_clock else RealClock(),
        names=tuple(args.names) if args.names else None,
        wake_name=args.wake_name,
    )
    try:
        if args.command == "start":
            if args.exercise not in app.catalog.exercises:
                raise ContentError(f"there is no exercise '{args.exercise}'", f"choose one of: {', '.join(app.catalog.exercises)}")
            app.start(args.exercise, args.minutes)
        run_text(app, sys.stdin)
    finally:
        app.close()
    return 0


def _text_speaker(args: argparse.Namespace) -> Speaker | None:
    """Text mode speaks too, where a voice exists, unless --mute; without a voice it prints only."""
    if args.mute:
        return None
    from .tts import create_speaker

    try:
        return create_speaker(tts_to=args.tts_to, voice=args.voice, rate=args.rate, volume=args.volume)
    except DeviceError as error:
        print(f"hearth: {error.message}; printing prompts instead.\n  fix: {error.fix}", file=sys.stderr)
        return None


def _setup(args: argparse.Namespace, data_dir: Path) -> int:
    first, second = args.first, args.second
    preferences = {name: getattr(args, name, None) for name in PREFERENCES}
    if not (first and second) and any(value is not None for value in preferences.values()):
        first = second = None  # only preferences this time
    elif not (first and second):
        if not sys.stdin.isatty():
            raise HearthError("setup needs two names", "hearth setup ALEX SAM")
        first = input("First partner's name: ").strip()
        second = input("Second partner's name: ").strip()
        if not (first and second):
            raise HearthError("both names are needed", "hearth setup ALEX SAM")
    if preferences["voice"] is not None:
        from .tts import resolve_voice

        resolve_voice(preferences["voice"])  # an unknown voice fails now, not on Thursday evening
    if preferences["crisis_line"] is not None and len(preferences["crisis_line"]) > 100:
        raise ConfigError("the crisis line is read aloud: keep it under 100 characters", 'hearth setup --crisis-line "988, the Suicide and Crisis Lifeline"')
    if preferences["wake_name"] is not None:
        load_intents(args.intents or None, preferences["wake_name"])  # validates the name
    store = Store(data_dir)
    if first and second:
        store.set_setting("partner_a", first)
        store.set_setting("partner_b", second)
        print(f"Saved: {first} and {second}. hearth takes turns on who goes first.")
    for name, value in preferences.items():
        if value is not None:
            store.set_setting(name, str(value))
            print(f"Saved: {name.replace('_', ' ')} = {value}")
    store.close()
    return 0


def _check(args: argparse.Namespace, data_dir: Path) -> int:
    """Each file on its own (the first error, with file:line), then everything across files."""
    intents = load_intents(args.intents or None, args.wake_name)
    ids = check_paths(args.paths, Phrasebook.of(intents)) if args.paths else []
    catalog = load_catalog(list(args.exercises) + list(args.paths), intents)
    found = problems(intents, catalog)
    try:
        from .asr.pocketsphinx_engine import PocketSphinxRecognizer
        from .asr.select import require_known_words

        require_known_words(intents, PocketSphinxRecognizer().unknown_words)
    except ContentError as error:
        found.append(Problem(error.message, error.fix))
    for problem in found:
        print(f"hearth: {problem.message}\n  fix: {problem.fix}", file=sys.stderr)
    if found:
        return ContentError.exit_code
    ids = ids or list(catalog.exercises)
    print(f"ok: {len(ids)} exercises ({', '.join(ids)}); {len(intents.intents)} intents; every explanation and exercise"
          " can be reached by voice, and the recognizer knows every word")
    return 0


def _intents(args: argparse.Namespace, data_dir: Path) -> int:
    intents = load_intents(args.intents or None, args.wake_name)
    if args.jsgf:
        print(intents.grammar(args.context).jsgf, end="")
    else:
        for phrase in intents.phrases(args.context):
            print(phrase)
    return 0


def _history(args: argparse.Namespace, data_dir: Path) -> int:
    store = Store(data_dir)
    catalog = load_catalog(args.exercises)
    rows = store.history(args.limit)
    now = RealClock().wall()
    streak = store.streak("check_in", now.date())
    names = partner_names(store)
    print(f"{names[0]} and {names[1]}: check-in streak {streak} day{'s' if streak != 1 else ''}")
    if not rows:
        start = Phrasebook.of(load_intents(args.intents or None, args.wake_name)).help.get("start")
        print(f"No sessions yet. Say '{start}' to begin." if start else "No sessions yet.")
    for row in rows:
        title = catalog.exercises[row.exercise].title if row.exercise in catalog.exercises else row.exercise
        if row.ended_at is None:
            status = "interrupted"
        else:
            minutes = max(1, round((row.ended_at - row.started_at).total_seconds() / 60))
            status = f"{'completed' if row.completed else 'stopped early'}, {minutes} min"
        print(f"{row.started_at:%a %d %b %H:%M}  {title}  ({status})")
    store.close()
    return 0


def _listen(args: argparse.Namespace, data_dir: Path) -> int:
    from .listen import CommandListener, run_listen

    if not args.input.exists():
        raise ConfigError(f"no such recording: {args.input}", "pass a WAV file to --input")
    intents = load_intents(args.intents or None, args.wake_name)
    recognizer, description = open_recognizer(args.engine, args.model, intents)
    print(description, file=sys.stderr)
    return run_listen(args.input, CommandListener(recognizer, intents, args.context), args.json)


def _repair(args: argparse.Namespace, data_dir: Path) -> int:
    damaged, saved = repair(data_dir, RealClock().wall())
    counts = ", ".join(f"{n} {table}" for table, n in saved.items() if table != "meta")
    print(f"Saved {counts} into a fresh progress file. The damaged one is kept at {damaged}.")
    return 0
