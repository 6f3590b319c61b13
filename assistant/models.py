"""Where hearth finds its optional Vosk model, and the one download it ever makes.

hearth works offline with the PocketSphinx model that ships with the `pocketsphinx` package. A
Vosk model is an optional upgrade: the user points at one (`--model`, `$HEARTH_VOSK_MODEL`), drops
one into a models folder, or runs `hearth model download`. The download goes through
assistant/fetch.py, the program's only network access, and is deliberately paranoid: a pinned
SHA-256, temp files beside the destination, and an atomic rename, so that an interrupted or
corrupt download never leaves a half model that a later start-up would try (and fail) to load.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelError
from assistant.fetch import ProgressCallback, fetch_to, move_into_place, unpack

log = logging.getLogger(__name__)

ENV_VAR = "HEARTH_VOSK_MODEL"

DEFAULT_MODEL_NAME = "vosk-model-small-en-us-0.15"
DEFAULT_MODEL_URL = f"https://alphacephei.com/vosk/models/{DEFAULT_MODEL_NAME}.zip"
# SHA-256 of vosk-model-small-en-us-0.15.zip (41,205,931 bytes). Not computed here (no network):
# taken from several independent public pins of the same file that all agree: a Yocto/OE recipe
# (SRC_URI[model.sha256sum]), an Arch PKGBUILD (sha256sums), a setup script pinned to match a
# Homebrew formula, and several apps' download manifests. Alphacephei publishes no checksums.
DEFAULT_MODEL_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
DEFAULT_MODEL_BYTES = 41_205_931

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


# --- what counts as a usable Vosk model ----------------------------------------------------------


def vosk_model_problem(path: Path) -> str | None:
    """Why `path` is not a Vosk model hearth can use, or None if it is.

    Mirrors how libvosk itself reads a folder (model.cc): the current layout has `am/final.mdl`
    and `conf/model.conf`; the old one has `final.mdl` and `mfcc.conf` at the top. hearth only
    decodes with a grammar, and libvosk applies one only with the look-ahead pair `HCLr.fst` +
    `Gr.fst`; a model with only a static `HCLG.fst` logs "Runtime graphs are not supported" and
    silently decodes its whole vocabulary, so such models are refused here, not misused later.
    """
    if not path.is_dir():
        return "not a folder" if path.exists() else "does not exist"
    if (path / "am" / "final.mdl").is_file() and (path / "conf" / "model.conf").is_file():
        graph = path / "graph"
    elif (path / "final.mdl").is_file() and (path / "mfcc.conf").is_file():
        graph = path
    else:
        return "has no am/final.mdl and conf/model.conf, so it is not a Vosk model folder"
    if (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file():
        return None
    if (graph / "HCLG.fst").is_file():
        return (
            "has only a static graph (HCLG.fst); Vosk ignores command grammars with such models "
            "(use a small model or an -lgraph model)"
        )
    return "has no decoding graph (graph/HCLr.fst and graph/Gr.fst)"


def is_vosk_model(path: Path) -> bool:
    """True if `path` is a Vosk model folder hearth can use (see `vosk_model_problem`)."""
    return vosk_model_problem(path) is None


# --- where to look -------------------------------------------------------------------------------


def repo_models_dir() -> Path | None:
    """The checkout's `models/` folder, or None when hearth runs from an installed package.

    A checkout is recognised by `pyproject.toml` beside the package; without that test an installed
    hearth would look in `site-packages/models`, which belongs to nobody.
    """
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file():
        return root / "models"
    return None


def user_models_dir(env: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_DATA_HOME/hearth/models`, defaulting to `~/.local/share/hearth/models` (XDG rules)."""
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    else:
        home = env.get("HOME")
        base = (Path(home) if home else Path.home()) / ".local" / "share"
    return base / "hearth" / "models"


def default_search_dirs(env: Mapping[str, str] = os.environ) -> list[Path]:
    """The folders searched when neither `--model` nor `$HEARTH_VOSK_MODEL` is given, in order."""
    repo = repo_models_dir()
    dirs = [repo] if repo is not None else []
    dirs.append(user_models_dir(env))
    return dirs


def default_download_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where `hearth model download` puts the default model: checkout models/, else the user's."""
    base = repo_models_dir()
    if base is None or not os.access(base if base.exists() else base.parent, os.W_OK):
        base = user_models_dir(env)
    return base / DEFAULT_MODEL_NAME


def _candidates(folder: Path) -> Iterator[Path]:
    """`folder` itself, then its visible subfolders, the default model first, the rest by name.

    Hidden entries are skipped: they are download temp folders (see `download_model`), which can
    hold a complete-looking model while it is still being moved into place.
    """
    yield folder
    if not folder.is_dir():
        return
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    yield from sorted(subdirs, key=lambda p: (p.name != DEFAULT_MODEL_NAME, p.name))


def _explicit_model(path: Path, origin: str) -> Path:
    """A model the user named: it must be usable, or we say why instead of quietly falling back."""
    path = path.expanduser()
    problem = vosk_model_problem(path)
    if problem is not None:
        raise ModelError(
            f"The Vosk model given by {origin} ({path}) {problem}.",
            fix="point it at an unpacked Vosk model folder (one with am/ conf/ graph/), "
            "or run `hearth model download`",
        )
    return path.resolve()


def find_vosk_model(
    explicit: Path | None = None,
    env: Mapping[str, str] = os.environ,
    search_dirs: Sequence[Path] | None = None,
) -> Path | None:
    """The Vosk model folder to use, or None (hearth then uses PocketSphinx).

    Order: `--model`, then `$HEARTH_VOSK_MODEL`, then the search folders (the checkout's models/ and
    the user data dir). An unusable model that the user named explicitly raises ModelError:
    falling back silently would hide the mistake behind worse recognition. Unusable folders found
    by searching are skipped with a warning.
    """
    if explicit is not None:
        return _explicit_model(Path(explicit), "--model")
    from_env = env.get(ENV_VAR, "")
    if from_env:
        return _explicit_model(Path(from_env), f"${ENV_VAR}")
    dirs = default_search_dirs(env) if search_dirs is None else search_dirs
    for folder in dirs:
        found = _search_folder(Path(folder))
        if found is not None:
            return found
    return None


def _search_folder(folder: Path) -> Path | None:
    """The first usable model in `folder`; near-models (e.g. half unpacked) get a warning."""
    for candidate in _candidates(folder):
        problem = vosk_model_problem(candidate)
        if problem is None:
            return candidate.resolve()
        if candidate != folder and _looks_like_model(candidate):
            log.warning("Skipping Vosk model folder %s: it %s", candidate, problem)
    return None


def _looks_like_model(path: Path) -> bool:
    """Has the skeleton of a model (so a problem with it deserves a warning), e.g. am/ or conf/."""
    return any((path / name).exists() for name in ("am", "conf", "graph", "final.mdl"))


# --- status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStatus:
    """What `hearth model status` reports: which engine would run, and why."""

    engine: str  # "vosk", "pocketsphinx", or "none" when start-up would fail
    reason: str
    path: Path | None = None
    size_bytes: int | None = None
    problem: str | None = None  # set when the user's explicit choice is unusable

    def lines(self) -> list[str]:
        """Human-readable lines, one fact each."""
        out = [f"engine: {self.engine}", f"why: {self.reason}"]
        if self.path is not None:
            out.append(f"model: {self.path}")
        if self.size_bytes is not None:
            out.append(f"size: {self.size_bytes / 1_000_000:.1f} MB")
        if self.problem is not None:
            out.append(f"problem: {self.problem}")
        return out


def folder_size(path: Path) -> int:
    """Total bytes of the regular files under `path` (symlinks not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def vosk_installed() -> bool:
    """Whether the vosk package is importable, without loading libvosk (which takes a moment)."""
    return importlib.util.find_spec("vosk") is not None


def model_status(
    explicit: Path | None = None,
    env: Mapping[str, str] = os.environ,
    search_dirs: Sequence[Path] | None = None,
) -> ModelStatus:
    """Decide as start-up would, but report instead of raising."""
    try:
        path = find_vosk_model(explicit, env, search_dirs)
    except ModelError as err:
        return ModelStatus(
            "none",
            "the Vosk model you named cannot be used, so hearth would stop",
            problem=str(err),
        )
    if path is None:
        dirs = default_search_dirs(env) if search_dirs is None else list(search_dirs)
        where = ", ".join(str(d) for d in dirs) or "nowhere"
        return ModelStatus(
            "pocketsphinx",
            f"no Vosk model given or found (looked in {where}); "
            "`hearth model download` fetches one",
        )
    if not vosk_installed():
        return ModelStatus(
            "pocketsphinx", "a Vosk model is present but the vosk package is not installed", path
        )
    origin = "--model" if explicit is not None else (f"${ENV_VAR}" if env.get(ENV_VAR) else "found")
    return ModelStatus("vosk", f"Vosk model ({origin})", path, folder_size(path))


# --- download ------------------------------------------------------------------------------------


def download_model(
    dest_dir: Path,
    url: str = DEFAULT_MODEL_URL,
    sha256: str = DEFAULT_MODEL_SHA256,
    progress: ProgressCallback | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download a zipped Vosk model, verify it, and unpack it as the folder `dest_dir`.

    Steps: stream into a hidden temp file beside `dest_dir` while hashing, compare the SHA-256 with
    the pinned value, unpack into a hidden temp folder there too, then rename the model folder into
    place (atomic on one filesystem). Temp files are removed on every failure, Ctrl-C included, so
    `dest_dir` either holds a complete, verified model or does not exist. Returns `dest_dir`; if it
    already holds a usable model nothing is downloaded.
    """
    dest_dir = Path(dest_dir).expanduser().absolute()
    expected = _checked_sha256(sha256)
    if is_vosk_model(dest_dir):
        return dest_dir
    if dest_dir.exists():
        raise ModelError(
            f"{dest_dir} exists but is not a usable Vosk model.",
            fix=f"remove {dest_dir} and run the download again",
        )
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{dest_dir.name}."
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".zip.part", dir=dest_dir.parent)
    zip_path = Path(tmp_name)
    unpack_dir: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            digest = fetch_to(url, out, dest_dir.parent, progress, timeout)
        if digest != expected:
            raise ModelError(
                f"The downloaded model does not match its pinned SHA-256 (got {digest}).",
                fix="try again later; if it keeps failing, the file on the server changed: "
                "download it yourself, check it, and unpack it into models/",
            )
        unpack_dir = Path(tempfile.mkdtemp(prefix=prefix, suffix=".unpack", dir=dest_dir.parent))
        unpack_dir.chmod(0o755)  # mkdtemp's 0700 would stick if the archive root is the model
        unpack(zip_path, unpack_dir)
        move_into_place(_model_root(unpack_dir), dest_dir)
    finally:
        zip_path.unlink(missing_ok=True)
        if unpack_dir is not None:
            shutil.rmtree(unpack_dir, ignore_errors=True)
    return dest_dir


def _checked_sha256(sha256: str) -> str:
    """A pinned hash is required: an unverified 40 MB blob must never become the speech model."""
    value = sha256.strip().lower()
    if not _SHA256_RE.match(value):
        raise ModelError(
            "No valid SHA-256 is pinned for the model download.",
            fix="pass the archive's 64-hex-digit SHA-256 "
            "(see DEFAULT_MODEL_SHA256 in assistant/models.py)",
        )
    return value


def _model_root(unpacked: Path) -> Path:
    """The model folder inside the unpacked archive: the archive root or its single top folder."""
    if is_vosk_model(unpacked):
        return unpacked
    entries = list(unpacked.iterdir())
    if len(entries) == 1 and is_vosk_model(entries[0]):
        return entries[0]
    raise ModelError(
        "The downloaded archive does not contain a Vosk model folder.", fix="check the URL"
    )
