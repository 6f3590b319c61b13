"""The `hearth` command: argument parsing and turning errors into one-line fixes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__, diagnostics
from .bootstrap import partner_names, run_session
from .clock import RealClock
from .asr.select import ENGINES, open_recognizer
from .checks import Problem, problems
from .errors import ConfigError, ContentError, HearthError
from .exercises import Catalog, EachItem, EachPartner, Step, TurnStep, check_paths, load_catalog
from .intents import CONTEXTS, template_text
from .intent_yaml import load_intents
from .phrasebook import Phrasebook
from .repair import repair
from .store import Store, default_data_dir
from .speech.base import DEFAULT_RATE_WPM, DEFAULT_VOLUME, RATE_FIX, RATE_RANGE_WPM, VOLUME_FIX

EXIT_BUG = 70
MINUTES_RANGE = (1, 20)  # `--minutes`: the same whole minutes as the spoken "for five minutes" (intents/exercises.yaml)


def _rate(text: str) -> int:
    low, high = RATE_RANGE_WPM
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of words per minute") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is out of range: {RATE_FIX}")
    return value


def _volume(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is out of range: {VOLUME_FIX}")
    return value


def _minutes(text: str) -> int:
    low, high = MINUTES_RANGE
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value.is_integer() and low <= value <= high):
        raise argparse.ArgumentTypeError(f"'{text}' is out of range: use a whole number of minutes from {low} to {high}")
    return int(value)


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
                        help="a rehearsal that saves nothing: typed, time passes only with ':wait SECONDS' lines; "
                             "with --input, the recording's own time, as fast as it is decoded")
    parser.add_argument("--debug", action="store_true", default=default(False), help="log details to the terminal")
    parser.add_argument("--engine", choices=ENGINES, default=default("auto"),
                        help="speech recognizer: auto takes Whisper where installed, else Vosk where a model is found, else PocketSphinx")
    parser.add_argument("--model", type=Path, default=default(None),
                        help="a Whisper (CTranslate2) or Vosk model folder (also $HEARTH_WHISPER_MODEL, $HEARTH_VOSK_MODEL)")


def _voice_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options of a live session (plain `hearth` and `hearth start`)."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--input-device", default=default(None), help="microphone: a number or name from `hearth devices`")
    parser.add_argument("--input", type=Path, default=default(None), metavar="FILE.wav",
                        help="replay a recording instead of the microphone (any rate or channels)")
    parser.add_argument("--output-device", default=default(None), help="speaker for speech and chimes: a number or name from `hearth devices`")
    parser.add_argument("--voice", default=default(None),
                        help="piper (the neural default), pyttsx3, an espeak-ng voice, or a Piper FILE.onnx (see `hearth voices`)")
    parser.add_argument("--rate", type=_rate, default=default(None),
                        help=f"speaking pace, {RATE_RANGE_WPM[0]} to {RATE_RANGE_WPM[1]} words per minute, pauses included (default {DEFAULT_RATE_WPM}, calm)")
    parser.add_argument("--volume", type=_volume, default=default(None), help=f"speaking volume, 0 to 1 (default {DEFAULT_VOLUME})")
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
    start.add_argument("--minutes", type=_minutes,
                       help=f"length of each speaking turn where the exercise allows it, {MINUTES_RANGE[0]} to {MINUTES_RANGE[1]}")
    setup = command("setup", "save the partners' names and, optionally, voice preferences and the wake name")
    _voice_options(setup, suppress=True)
    setup.add_argument("first", nargs="?", help="the first partner's name")
    setup.add_argument("second", nargs="?", help="the second partner's name")
    setup.add_argument("--crisis-line", metavar="TEXT",
                       help='your local crisis line as hearth should say it, e.g. "988, the Suicide and Crisis Lifeline"'
                            ' (default: "your local emergency number"; "" resets it)')
    check = command("check", "validate exercise files (default: the built-in ones) and intent files")
    check.add_argument("paths", nargs="*", type=Path, help="exercise files or folders")
    intents = command("intents", "show what hearth listens for: each live intent's templates and a sample of its phrases")
    intents.add_argument("--context", choices=CONTEXTS + ("any",), default="idle")
    intents.add_argument("--sample", type=int, default=3, metavar="N", help="phrases to show per intent (default 3)")
    intents.add_argument("--jsgf", action="store_true", help="print the compiled grammar as JSGF instead")
    history = command("history", "recent sessions and your check-in streak")
    history.add_argument("--limit", type=int, default=15)
    command("repair", "salvage a damaged progress file")
    command("devices", "list microphones and speakers")
    command("voices", "list the voices of both families (Piper, pyttsx3) and which one is the default")
    model = command("model", "the speech models: which engine runs and why, or fetch one")
    model.add_argument("action", choices=("status", "download"), help="status: which engine runs and why; download: fetch and verify a model")
    model.add_argument("which", nargs="?", choices=("whisper", "vosk"), default="whisper", help="the model to download (default: whisper)")
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
        "model": lambda args, data_dir: diagnostics.model_command(args.action, args.which, args.engine, args.model),
        "doctor": lambda args, data_dir: diagnostics.run_doctor(data_dir, args.engine, args.model),
    }
    return handlers.get(args.command, _session)(args, data_dir)


PREFERENCES: dict[str, Callable[[str], object]] = {"wake_name": str, "voice": str, "rate": _rate, "volume": _volume, "crisis_line": str}


def _apply_preferences(args: argparse.Namespace, store: Store) -> None:
    """Options not given on the command line come from `hearth setup`, then from the defaults."""
    saved = store.settings()
    for name, kind in PREFERENCES.items():
        if getattr(args, name, None) is None and name in saved:
            try:
                setattr(args, name, kind(saved[name]))
            except argparse.ArgumentTypeError as problem:
                raise ConfigError(f"the saved {name} '{saved[name]}' cannot be used: {problem}", f"hearth setup --{name.replace('_', '-')} VALUE") from None
    args.rate = args.rate if args.rate is not None else DEFAULT_RATE_WPM
    args.volume = args.volume if args.volume is not None else DEFAULT_VOLUME


def _session(args: argparse.Namespace, data_dir: Path) -> int:
    """A session, typed or spoken. Everything that can be checked is checked before any device
    opens: the folder (locked for this process), the content, the exercise and its options."""
    rehearsal = args.fake_clock
    if rehearsal and not (args.text or args.input):
        raise ConfigError("--fake-clock works with typed input or a recording, not a live microphone", "add --text, or --input FILE.wav")
    store = Store.scratch(data_dir) if rehearsal else Store(data_dir)
    try:
        _apply_preferences(args, store)
        catalog = load_catalog(args.exercises)
        if args.command == "start":
            _check_start(args, catalog)
    except BaseException:
        store.close()
        raise
    for notice in catalog.notices:
        print(f"hearth: {notice}", file=sys.stderr)
    if rehearsal:
        print("hearth: fake clock: a rehearsal; nothing from this session is saved", file=sys.stderr)
    return run_session(args, store)


def _check_start(args: argparse.Namespace, catalog: Catalog) -> None:
    exercise = catalog.exercises.get(args.exercise)
    if exercise is None:
        raise ContentError(f"there is no exercise '{args.exercise}'", f"choose one of: {', '.join(catalog.exercises)}")
    if args.minutes is not None and not _has_adjustable_turn(exercise.steps):
        adjustable = [e.id for e in catalog.exercises.values() if _has_adjustable_turn(e.steps)]
        raise ConfigError(f"the turns of {exercise.id} have a fixed length", f"--minutes works with: {', '.join(adjustable) or 'no exercise'}")


def _has_adjustable_turn(steps: tuple[Step, ...]) -> bool:
    for step in steps:
        if isinstance(step, TurnStep) and step.adjustable:
            return True
        if isinstance(step, (EachPartner, EachItem)) and _has_adjustable_turn(step.steps):
            return True
    return False


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
        from .speech.voices import validate_voice

        validate_voice(preferences["voice"])  # an unknown voice fails now, not on Thursday evening
    if preferences["crisis_line"] is not None and len(str(preferences["crisis_line"])) > 100:
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
    if not args.paths:
        for notice in catalog.notices:
            print(notice)
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
          " can be reached by voice, and PocketSphinx knows every template word")
    return 0


def _intents(args: argparse.Namespace, data_dir: Path) -> int:
    intents = load_intents(args.intents or None, args.wake_name)
    grammar = intents.grammar(args.context)
    if args.jsgf:
        print(grammar.jsgf, end="")
        return 0
    states, arcs = grammar.graph.size
    print(f"context {args.context}: {grammar.graph.count():,} phrases, compiled to {states} states and {arcs} arcs")
    for intent in intents.live(args.context):
        wake = f"{intents.wake_name}, " if intents.needs_wake(intent, args.context) else ""
        print(f"\n{intent.name}  (teach: \"{wake}{intent.help}\")")
        for template in intent.templates:
            print(f"  template: {wake}{template_text(template)}")
        for phrase in intents.intent_graph(intent).sample(args.sample, seed=len(intent.name)):
            print(f"  e.g.      {wake}{phrase}")
    return 0


def _history(args: argparse.Namespace, data_dir: Path) -> int:
    store = Store.scratch(data_dir)  # a snapshot: history can be read while a session runs
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
    outcome = repair(data_dir, RealClock().wall())
    if outcome is None:
        print(f"The progress file in {data_dir} is healthy: nothing to repair, and it was left as it is.")
        return 0
    damaged, saved = outcome
    counts = ", ".join(f"{n} {table}" for table, n in saved.items() if table != "meta")
    print(f"Saved {counts} into a fresh progress file. The damaged one is kept at {damaged}.")
    return 0
