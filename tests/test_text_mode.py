"""Text mode end to end through the real CLI in a subprocess (`hearth --text --mute --fake-clock`)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

NAMES = ["--names", "Alex", "Sam"]


def session_args(data) -> list:
    """A rehearsal on a fake clock: fast, and it saves nothing."""
    return ["--text", "--mute", "--fake-clock", "--data-dir", data, *NAMES]


def saved_session_args(data) -> list:
    """A real-clock session (for exercises without timers): its progress and history are saved."""
    return ["--text", "--mute", "--data-dir", data, *NAMES]


def assert_in_order(output: str, expected: list[str]) -> None:
    """Each expected fragment appears on a line after the line of the one before."""
    lines = output.splitlines()
    at = -1
    for fragment in expected:
        found = next((i for i in range(at + 1, len(lines)) if fragment in lines[i]), None)
        assert found is not None, f"'{fragment}' not found after line {at}:\n" + "\n".join(lines[max(0, at - 3) : at + 4])
        at = found


def run_script(hearth_cli, data, lines: list[str], saved: bool = False):
    result = hearth_cli((saved_session_args if saved else session_args)(data), stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "not understood" not in result.stdout, result.stdout
    return result.stdout


# ---------------------------------------------------------------- each exercise, start to finish


def test_check_in(tmp_path, hearth_cli):
    out = run_script(hearth_cli, tmp_path / "data", ["start our check in", ":wait 120", ":wait 120"])
    assert_in_order(
        out,
        [
            "> start our check in",
            "hearth: Welcome, Alex and Sam. Time for a short check-in.",
            "hearth: Over to you, Alex.",
            "[chime: turn start]",
            "[timer: 2:00 of 2:00]",
            "[chime: turn end]",
            "hearth: Over to you, Sam.",
            "[chime: turn start]",
            "[chime: turn end]",
            "hearth: Thank you both, for sharing and for listening.",
        ],
    )
    assert "Sam, just listen for now." in out and "Alex, just listen for now." in out
    assert out.count("[chime: turn start]") == 2


def test_thirty_six_questions(tmp_path, hearth_cli):
    out = run_script(hearth_cli, tmp_path / "data", ["start the 36 questions"] + ["next question"] * 72)
    expected = [
        "hearth: Welcome, Alex and Sam. These are thirty-six questions",
        "hearth: Both of you answer every question",
    ]
    for number in range(1, 37):
        if number in (1, 13, 25):
            expected.append({1: "hearth: Set one.", 13: "hearth: Set two.", 25: "hearth: Set three."}[number])
        first, second = ("Alex", "Sam") if number % 2 == 1 else ("Sam", "Alex")
        expected += [f"hearth: {first}, question {number} is for you.", f"hearth: {second}, question {number} is for you."]
    expected.append("hearth: That was the last question. Thank you both")
    assert_in_order(out, expected)


def test_appreciation(tmp_path, hearth_cli):
    out = run_script(hearth_cli, tmp_path / "data", ["let's do the appreciation practice", "I'm done", "that's all from me"])
    assert_in_order(
        out,
        [
            "hearth: Welcome, Alex and Sam. This is a moment for appreciation.",
            "hearth: Here is a tip for tonight.",
            "hearth: Alex, what is one thing Sam did today that you appreciated?",
            "> I'm done",
            "hearth: Sam, what is one thing Alex did today that you appreciated?",
            "> that's all from me",
            "hearth: Thank you both. When you hear an appreciation",
        ],
    )


def test_vulnerability(tmp_path, hearth_cli):
    out = run_script(hearth_cli, tmp_path / "data", ["begin the vulnerability exercise"] + ["I'm done"] * 4)
    assert_in_order(
        out,
        [
            "hearth: Welcome, Alex and Sam. In this exercise you take turns finishing a sentence",
            "hearth: When you are the listener",
            "hearth: Alex, please finish this sentence. Something I have been worried about",
            "hearth: Sam, please finish this sentence. Something I have been worried about",
            "hearth: Sam, please finish this sentence. A time this week I felt alone",
            "hearth: Alex, please finish this sentence. A time this week I felt alone",
            "hearth: That is all for tonight.",
        ],
    )


def test_listening_turns(tmp_path, hearth_cli):
    out = run_script(hearth_cli, tmp_path / "data", ["start listening turns", ":wait 180", ":wait 60", "juniper, I'm done", ":wait 60"])
    assert_in_order(
        out,
        [
            "hearth: Welcome, Alex and Sam. This is a listening exercise.",
            "hearth: Then the listener has one minute",
            "hearth: Alex, you are the speaker, for three minutes.",
            "[chime: turn start]",
            "[timer: 3:00 of 3:00]",
            "[chime: minute left]",
            "hearth: One minute left.",
            "[chime: turn end]",
            "hearth: Sam, now tell Alex what you heard",
            "[timer: 1:00 of 1:00]",
            "[chime: turn end]",
            "hearth: Sam, you are the speaker, for three minutes. Talk about whatever is on your mind. Alex, just listen",
            "> juniper, I'm done",
            "[chime: turn end]",
            "hearth: Alex, now tell Sam what you heard",
            "[chime: turn end]",
            "hearth: Thank you both. Being listened to well is a real gift.",
        ],
    )
    assert out.count("[chime: minute left]") == 1  # the second speaker ended early; listener turns have no cue


def test_listening_turns_of_another_length(tmp_path, hearth_cli):
    spoken = run_script(hearth_cli, tmp_path / "spoken", ["start listening turns for 5 minutes", ":wait 240", ":wait 60"])
    assert_in_order(spoken, ["hearth: Alex, you are the speaker, for five minutes.", "[timer: 5:00 of 5:00]", "[chime: minute left]", "[chime: turn end]"])
    flag = hearth_cli(["start", "listening_turns", "--minutes", "4", *session_args(tmp_path / "flag")])
    assert flag.returncode == 0, flag.stderr
    assert_in_order(flag.stdout, ["hearth: Alex, you are the speaker, for four minutes.", "[timer: 4:00 of 4:00]"])


def test_ten_minute_question(tmp_path, hearth_cli):
    out = run_script(hearth_cli, tmp_path / "data", ["time for the 10 minute question", ":wait 240", "how much time is left", ":wait 360"])
    assert_in_order(
        out,
        [
            "hearth: Welcome, Alex and Sam. Tonight there is one question, and ten minutes",
            "hearth: Here is the question. What did you dream of becoming when you were little",
            "[timer: 10:00 of 10:00]",
            "> how much time is left",
            "hearth: About six minutes left.",
            "[chime: minute left]",
            "hearth: One minute left.",
            "[chime: turn end]",
            "hearth: That is ten minutes. Thank you both.",
        ],
    )


def test_device_free_talk(tmp_path, hearth_cli):
    out = run_script(
        hearth_cli,
        tmp_path / "data",
        ["start device-free talk", ":wait 60", "juniper, give us a topic", "pause", ":wait 600", "carry on", ":wait 1140"],
    )
    assert_in_order(
        out,
        [
            "hearth: Welcome, Alex and Sam. For the next twenty minutes",
            "hearth: Your twenty minutes start now.",
            "[timer: 20:00 of 20:00]",
            "> juniper, give us a topic",
            "hearth: What is something that made you laugh recently?",
            "> pause",
            "[timer paused at 19:00]",
            "hearth: Paused.",
            "> carry on",
            "[timer: 19:00 of 20:00]",
            "[chime: minute left]",
            "[chime: turn end]",
            "hearth: That is twenty minutes.",
        ],
    )


def test_names_come_from_setup_when_not_given(tmp_path, hearth_cli):
    data = tmp_path / "data"
    saved = hearth_cli(["setup", "Robin", "Kim", "--data-dir", data])
    assert saved.returncode == 0, saved.stderr
    result = hearth_cli(["--text", "--mute", "--fake-clock", "--data-dir", data], stdin="start our check in\n")
    assert "Welcome, Robin and Kim." in result.stdout


def test_not_understood_and_help(tmp_path, hearth_cli):
    result = hearth_cli(session_args(tmp_path / "data"), stdin="next question\nwhat can I say\npass the salt\n")
    assert result.returncode == 0
    assert_in_order(
        result.stdout,
        [
            "> next question",
            "hearth: No exercise is running right now",  # typed, it is understood and explained
            "> what can I say",
            "hearth: You can say: start our daily check in",
            "> pass the salt",
            "(not understood here",
        ],
    )


def test_one_wait_covers_back_to_back_turns(tmp_path):
    """In-process: a single `:wait` as long as both check-in turns finishes both (no tick of lag
    between one turn's end and the next one's start)."""
    import io

    from assistant.app import (
        FakeClock,
        SilentChimes,
        build_app,
        run_text,
    )
    from assistant.speech.printer import PrintSpeaker

    out = io.StringIO()
    chimes = SilentChimes()
    app = build_app(tmp_path / "data", speaker=PrintSpeaker(), chimes=chimes, clock=FakeClock(), out=out, names=("Alex", "Sam"))
    try:
        run_text(app, ["start our check in", ":wait 240"])
        assert app.state.session is None, out.getvalue()
        assert chimes.played == ["turn_start", "turn_end", "turn_start", "turn_end"]
        assert app.speaker.spoken[-1] == "Thank you both, for sharing and for listening."
        assert app.clock.now() == 240
    finally:
        app.close()


# ---------------------------------------------------------------- killed mid-session, resumed


class Running:
    """A hearth process whose stdin stays open, with its output collected line by line."""

    def __init__(self, args, tmp_path, env):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=tmp_path,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, fragment: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, "hearth exited early:\n" + "\n".join(self.seen) + self.proc.stderr.read()
                continue
            self.seen.append(line)
            if fragment in line:
                return line
        pytest.fail(f"'{fragment}' did not appear within {timeout} s; output so far:\n" + "\n".join(self.seen))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


def test_thirty_six_questions_resume_after_the_process_is_killed(tmp_path, hearth_cli, hearth_env):
    data = tmp_path / "data"
    running = Running(saved_session_args(data), tmp_path, hearth_env)
    try:
        running.send("start the thirty six questions")
        running.wait_for("Alex, question 1 is for you.")
        for _ in range(4):
            running.send("next question")
        running.wait_for("Alex, question 3 is for you.")  # Q1 Alex, Q1 Sam, Q2 Sam, Q2 Alex, Q3 Alex
    finally:
        running.kill()
    assert running.proc.returncode == -signal.SIGKILL

    out = run_script(hearth_cli, data, ["continue the thirty six questions"], saved=True)
    assert_in_order(
        out,
        [
            "> continue the thirty six questions",
            "hearth: Welcome back. Last time you stopped before question three of thirty six. Let's pick up from there.",
            "hearth: Set one.",
            "question 3 is for you.",
        ],
    )
    assert "question 1 is for you" not in out and "question 2 is for you" not in out
    assert "These are thirty-six questions" not in out

    history = hearth_cli(["history", "--data-dir", data])
    assert history.returncode == 0, history.stderr
    rows = [line for line in history.stdout.splitlines() if "Thirty-six questions" in line]
    assert len(rows) == 2
    assert "(interrupted)" in rows[1]  # the killed session never ended; newest first
    assert "(stopped early" in rows[0]  # input ended mid-exercise: the session closed, its place saved


def test_history_shows_the_sessions(tmp_path, hearth_cli):
    import io

    from assistant.app import FakeClock, build_app, run_text

    data = tmp_path / "data"
    app = build_app(data, clock=FakeClock(), out=io.StringIO(), names=("Alex", "Sam"))  # in-process: saved
    try:
        run_text(app, ["start our check in", ":wait 240", "start the appreciation practice", "stop here"])
    finally:
        app.close()
    result = hearth_cli(["history", "--data-dir", data])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "check-in streak" in lines[0]
    assert any("Appreciation" in line and "(stopped early, 1 min)" in line for line in lines)
    assert any("Daily check-in" in line and "(completed, 4 min)" in line for line in lines)
    assert [i for i, line in enumerate(lines) if "Appreciation" in line] < [i for i, line in enumerate(lines) if "Daily check-in" in line]


def test_history_when_empty(tmp_path, hearth_cli):
    result = hearth_cli(["history", "--data-dir", tmp_path / "data"])
    assert result.returncode == 0
    assert "No sessions yet." in result.stdout


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_waiting_for_input_does_not_spin(tmp_path, hearth_env):
    """With a fake clock nothing happens until the next line, so waiting for it must not burn a CPU."""
    running = Running(session_args(tmp_path / "data"), tmp_path, hearth_env)
    try:
        running.send("start our check in")
        running.wait_for("[timer: 2:00 of 2:00]")
        before, started = _cpu_seconds(running.proc.pid), time.monotonic()
        time.sleep(1.0)
        used = _cpu_seconds(running.proc.pid) - before
        elapsed = time.monotonic() - started
        assert used < 0.3 * elapsed, f"{used:.2f} s of CPU in {elapsed:.2f} s while waiting for input"
        running.send("I'm done")
        running.wait_for("Over to you, Sam.")
    finally:
        running.kill()

