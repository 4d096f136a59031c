"""The file leader lock: an exclusive ``flock`` the OS drops with the process."""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from .lock_base import (
    DEFAULT_LOCK_NAME,
    DEFAULT_TIMEOUT_SECONDS,
    LeaderLock,
)

__all__ = ["FileLeaderLock"]

log = logging.getLogger(__name__)

# -- a lock file ----------------------------------------------------------------------------------


def _lock_file(fd: int, *, lock: bool = True) -> None:
    """Exclusive non-blocking ``flock`` (or unlock); Windows has none: byte 0 via msvcrt."""
    if sys.platform == "win32":  # untested here
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK if lock else msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, (fcntl.LOCK_EX | fcntl.LOCK_NB) if lock else fcntl.LOCK_UN)


_HELD_ELSEWHERE = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK}


class FileLeaderLock(LeaderLock):
    """An exclusive, non-blocking lock on a file; the OS drops it with the process.

    The file stays after ``release()``: deleting it would let one process lock the old file
    and another a new one. ``private`` files (one per process, for an in-memory database) are
    deleted, since nobody else uses them.
    """

    backend = "file"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str = DEFAULT_LOCK_NAME,
        private: bool = False,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds)
        self.path = Path(path)
        self._private = private
        self._fd: int | None = None

    def _acquire(self) -> bool:
        if self._fd is not None:
            if self._same_file(self._fd):
                return True
            self._close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock_file(fd)
        except OSError as error:
            os.close(fd)
            if error.errno in _HELD_ELSEWHERE:
                return False
            raise
        if not self._same_file(fd):  # deleted or replaced between open() and the lock
            os.close(fd)
            return False
        self._fd = fd
        try:  # who holds it, for whoever looks
            os.ftruncate(fd, 0)
            os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        except OSError:
            log.debug("could not write to %s", self.path, exc_info=True)
        return True

    def _check(self) -> bool:
        if self._fd is None:
            return False
        if self._same_file(self._fd):
            return True
        self._close()  # someone deleted or replaced the file: a new one can be locked by others
        return False

    def _release(self) -> bool:
        if self._fd is not None:
            self._close()
            if self._private:
                self.path.unlink(missing_ok=True)
        return True

    def _same_file(self, fd: int) -> bool:
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _lock_file(fd, lock=False)
            finally:
                os.close(fd)

    def _details(self) -> dict[str, Any]:
        return {"path": str(self.path)}
