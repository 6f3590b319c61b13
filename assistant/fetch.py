"""The program's only network access: an explicit model download, streamed, hashed, unpacked safely.

Used by `hearth model download` (the Vosk model, assistant/models.py; the Whisper model,
assistant/asr/whisper_model.py). Everything here fails with a ModelError that says what to do, and
leaves nothing half-written behind: callers stream into temp files beside the destination, check
the pinned SHA-256, and only then move the result into place with one rename.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import IO

from assistant.errors import ModelError

ProgressCallback = Callable[[int, int | None], None]
"""Called as progress(bytes_done, bytes_total); total is None when the server does not say."""

_CHUNK = 64 * 1024


def fetch_to(
    url: str,
    out: IO[bytes],
    folder: Path,
    progress: ProgressCallback | None,
    timeout: float,
    what: str = "the Vosk model",
) -> str:
    """Stream `url` into `out` (a file in `folder`), reporting progress; returns the hex SHA-256."""
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise ModelError(f"Refusing to download from {url!r}.", fix="use an https:// URL")
    hasher = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = _content_length(response.headers.get("Content-Length"))
            _check_disk_space(folder, total)
            done = 0
            if progress is not None:
                progress(0, total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                hasher.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except (urllib.error.URLError, HTTPException, OSError) as err:
        raise ModelError(
            f"Could not download {what} from {url}: {err}",
            fix="check the network connection and try again, "
            "or unpack the zip into models/ yourself",
        ) from err
    if total is not None and done != total:
        raise ModelError(
            f"The download stopped early ({done} of {total} bytes).",
            fix="try again; nothing was kept from the broken download",
        )
    return hasher.hexdigest()


def _content_length(value: str | None) -> int | None:
    """The announced size, or None when absent or nonsense."""
    try:
        size = int(value) if value is not None else -1
    except ValueError:
        return None
    return size if size >= 0 else None


def _check_disk_space(folder: Path, total: int | None) -> None:
    """Fail early when the zip plus its unpacked copy (about 2.5x) clearly will not fit."""
    if total is None:
        return
    free = shutil.disk_usage(folder).free
    if free < total * 3.5:
        raise ModelError(
            f"Not enough free disk space in {folder} ({free // 1_000_000} MB free, "
            f"about {total * 35 // 10_000_000} MB needed).",
            fix="free some space or set XDG_DATA_HOME to a roomier disk",
        )


def unpack(zip_path: Path, target: Path) -> None:
    """Extract after refusing members that would land outside `target` (absolute or `..` paths)."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for name in archive.namelist():
                parts = PurePosixPath(name.replace("\\", "/")).parts
                if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise ModelError(
                        f"The model archive has an unsafe entry: {name!r}.",
                        fix="do not use this archive",
                    )
            archive.extractall(target)
    except zipfile.BadZipFile as err:
        raise ModelError(
            f"The model archive is not a valid zip: {err}", fix="download it again"
        ) from err
    except OSError as err:
        raise ModelError(
            f"Could not unpack the model: {err}", fix="check free disk space and permissions"
        ) from err


def move_into_place(source: Path, dest: Path) -> None:
    """One rename, so other processes see either no model or the whole model, never a part."""
    try:
        os.rename(source, dest)
    except OSError as err:
        raise ModelError(
            f"Could not move the unpacked model to {dest}: {err}",
            fix=f"make sure nothing else is writing {dest} and try again",
        ) from err
