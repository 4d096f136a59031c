"""Secrets a single-user server generates once and keeps: ``workscript_secrets.json``.

DESIGN §3: in ``local`` mode, missing JWT and session secrets are generated, not defaulted —
there is no built-in fallback secret — and kept in the Jupyter data directory so that a
restart does not log everyone out. The file holds one JSON object of ``name: secret``, is
readable by its owner only (0600), and is written atomically (a temp file made with
``O_EXCL`` and mode 0600, fsynced, then ``os.replace``), so a crash leaves the old file or the
new one, never half of one.

Two servers started at once (JupyterLab and a ``workscript worker``, say) must end with one
set of values: creation and additions happen under an exclusive lock on a lock file beside it,
and whoever takes the lock second finds the file made and reads it. A file that group or
others can read is tightened to 0600 with a warning; one that cannot be read or is not a
JSON object of long enough strings stops the start with a ``ConfigurationError`` naming it.
Secrets are never logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigurationError

__all__ = [
    "SECRETS_FILE_NAME",
    "SECRET_KEY_NAME",
    "SECRET_MIN_LENGTH",
    "SECRET_NAMES",
    "load_or_create_secrets",
]

log = logging.getLogger(__name__)

SECRET_NAMES = ("jwt_secret", "jwt_refresh_secret", "session_secret")
# the SecretBox's key (auth/secret_box.py): a 64-character passphrase, asked for on its own
SECRET_KEY_NAME = "secret_key"
_CHECKED_NAMES = (*SECRET_NAMES, SECRET_KEY_NAME)
SECRETS_FILE_NAME = "workscript_secrets.json"
SECRET_MIN_LENGTH = 32  # what JwtSettings requires of a JWT secret
_LOCK_FILE_NAME = ".workscript_secrets.lock"


def load_or_create_secrets(
    directory: Path, names: tuple[str, ...] = SECRET_NAMES
) -> dict[str, str]:
    """The secrets kept in ``directory/workscript_secrets.json``, made or completed as needed.

    Every one of ``names`` is in the answer (a fresh ``token_urlsafe(48)`` for any the file
    lacked, written back); other entries of the file are kept and returned too.
    """
    directory = Path(directory)
    path = directory / SECRETS_FILE_NAME
    # the common case, a complete file, needs no lock: os.replace makes every read whole
    current = _read(path)
    if current is not None and all(name in current for name in names):
        return current
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigurationError(
            f"cannot create {directory} to keep the workscript secrets in: {e.strerror}"
        ) from None
    with _locked(directory / _LOCK_FILE_NAME):
        # another process may have made or completed the file while we waited for the lock
        current = _read(path) or {}
        missing = [name for name in names if name not in current]
        if not missing:
            return current
        updated = {**current, **{name: secrets.token_urlsafe(48) for name in missing}}
        _write_atomically(path, updated)
        log.info(
            "generated the workscript secrets %s and kept them in %s (mode 0600)",
            ", ".join(missing),
            path,
        )
        return updated


def _read(path: Path) -> dict[str, str] | None:
    """The file's secrets, None if there is no file; tightens a file others can read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigurationError(
            f"cannot read the workscript secrets file {path}: {e.strerror}"
        ) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise ConfigurationError(f"the workscript secrets file {path} is not a regular file")
        _tighten(fd, path, stat.S_IMODE(status.st_mode))
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read()
    except OSError as e:
        raise ConfigurationError(
            f"cannot read the workscript secrets file {path}: {e.strerror}"
        ) from None
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        # the error's position, never its text: that could quote a secret
        where = (
            f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        )
        raise ConfigurationError(
            f"the workscript secrets file {path} is not valid JSON{where}: fix it, or delete "
            "it to have new secrets generated (everyone will have to log in again)"
        ) from None
    return _checked(data, path)


def _checked(data: object, path: Path) -> dict[str, str]:
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"the workscript secrets file {path} must hold a JSON object of name: secret"
        )
    for name, value in data.items():
        if not isinstance(value, str):
            raise ConfigurationError(f"the secret {name!r} in {path} must be a string")
        if name in _CHECKED_NAMES and len(value) < SECRET_MIN_LENGTH:
            raise ConfigurationError(
                f"the secret {name!r} in {path} is shorter than {SECRET_MIN_LENGTH} "
                "characters: replace it, or delete the entry to have it generated"
            )
    return dict(data)


def _tighten(fd: int, path: Path, mode: int) -> None:
    if sys.platform == "win32":  # POSIX modes mean little there
        return
    if mode & 0o077:
        try:
            os.fchmod(fd, 0o600)
        except OSError as e:
            raise ConfigurationError(
                f"the workscript secrets file {path} is readable by others (mode {mode:04o}) "
                f"and cannot be made private: {e.strerror}; run chmod 600 on it"
            ) from None
        log.warning(
            "the workscript secrets file %s was readable by others (mode %04o): set it to 0600; "
            "if others could read it, delete it to have new secrets generated",
            path,
            mode,
        )


def _write_atomically(path: Path, values: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if sys.platform != "win32":
                os.fchmod(fd, 0o600)  # whatever the umask did
            os.write(fd, (json.dumps(values, indent=2) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigurationError(
            f"cannot write the workscript secrets file {path}: {e.strerror}"
        ) from None
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); best effort."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive, blocking lock on ``lock_path`` (kept afterwards: see FileLeaderLock)."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise ConfigurationError(f"cannot open the lock file {lock_path}: {e.strerror}") from None
    try:
        if sys.platform == "win32":  # untested here
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
