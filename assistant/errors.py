"""One family of errors, each carrying the fix a user should apply.

The CLI catches `HearthError` at the top, prints `message` and `fix` on one or two lines and exits
non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HearthError(Exception):
    """Base class: a failure a user can meet and fix."""

    exit_code = 1

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(HearthError):
    """Bad settings or command-line values."""


class ContentError(HearthError):
    """A broken intent or exercise file; the message starts with file:line."""

    exit_code = 2


class DeviceError(HearthError):
    """No microphone or speaker, or one went away."""

    exit_code = 3


class ModelError(HearthError):
    """A speech model is missing or unusable."""

    exit_code = 4


class StoreError(HearthError):
    """The progress database cannot be opened or is damaged."""

    exit_code = 5


class StoreLocked(StoreError):
    """Another hearth (or another program) is using the data folder right now."""


class StoreUnwritable(StoreError):
    """The data folder cannot be written: permissions, a read-only disk, a full disk."""


class StoreDamaged(StoreError):
    """The progress file itself is damaged; `hearth repair` can salvage it."""
