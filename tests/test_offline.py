"""hearth makes no network connection while it runs: a whole text-mode session with sockets refused."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from assistant.bootstrap import bootstrap
from assistant.clock import FakeClock
from assistant.typed import run_text


def test_a_session_opens_no_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("hearth must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type]
    out = io.StringIO()
    app = bootstrap(tmp_path, clock=FakeClock(), out=out, names=("Alex", "Sam"))
    run_text(app, ["start the ten minute question", ":wait 700", "juniper what is a bid for connection"])
    app.close()
    assert "Here is the question" in out.getvalue()
    assert attempts == []
