"""A local append-only spool for records the database could not take, replayed later.

One JSON line per write, flushed and fsynced before the webhook answers, so a record Twilio
got a 2xx for survives the database being away and the process being killed. Processes
sharing the directory append under an exclusive lock; a replayer claims the file by renaming
it, and a writer that opened the file before the rename notices and appends to the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ACTIVE = "records.jsonl"
CLAIMED = ".replaying"
REJECTED = "rejected.jsonl"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / ACTIVE

    def append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked_active() as fd:
            _write(fd, line)

    def pending(self) -> bool:
        """True when records wait to be replayed (cheap: one stat per call)."""
        return self.path.exists() or any(self.directory.glob(f"*{CLAIMED}"))

    def entries(self) -> int:
        files = [self.path, *self.directory.glob(f"*{CLAIMED}")]
        return sum(len(_lines(path)) for path in files if path.exists())

    def replay(self, apply: Callable[[dict[str, Any]], None]) -> int:
        """Apply every spooled entry in order; stops at the first failure and keeps the rest
        (in the claimed file, so they stay ahead of anything spooled since).

        Returns how many entries were applied. A replayer holds a lock on the file it works
        on, so two replayers never apply the same file; one killed mid-file leaves the file
        to the next, which applies it again from the top (entries are upserts)."""
        applied = 0
        for claimed in self._claim():
            with _locked_claim(claimed) as held:
                if not held:
                    continue  # another replayer is on it, or it has finished it
                lines = _lines(claimed)
                for index, line in enumerate(lines):
                    try:
                        apply(json.loads(line))
                    except Exception:
                        _rewrite(claimed, lines[index:])
                        raise
                    applied += 1
                claimed.unlink()
        return applied

    def reject(self, entry: dict[str, Any]) -> None:
        """Set aside an entry the database refuses for good, for an operator to look at;
        it is never replayed."""
        line = (json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        fd = os.open(self.directory / REJECTED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _claim(self) -> list[Path]:
        """Earlier claims (left by a replayer that failed or died), oldest first, then the
        active file, renamed. Claim names start with the time they were made."""
        claims = sorted(self.directory.glob(f"*{CLAIMED}"))
        if self.path.exists():
            with self._locked_active(create=False) as fd:
                if fd >= 0:
                    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{CLAIMED}"
                    os.rename(self.path, self.directory / name)
                    claims.append(self.directory / name)
        return claims

    @contextmanager
    def _locked_active(self, create: bool = True) -> Iterator[int]:
        """The active file, opened for appending and exclusively locked; -1 if it is absent
        and `create` is false."""
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
        while True:
            try:
                fd = os.open(self.path, flags, 0o600)
            except FileNotFoundError:
                yield -1
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = -1
            if current == os.fstat(fd).st_ino:
                break
            os.close(fd)  # renamed by a replayer while we waited for the lock: reopen
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _write(fd: int, data: bytes) -> None:
    """Append `data` and fsync. After a line torn by a crash mid-write, start a new line, or
    the torn bytes would swallow this (acknowledged) line as well."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data
    os.write(fd, data)
    os.fsync(fd)


def _lines(path: Path) -> list[str]:
    # A line cut short by a crash mid-write cannot be parsed; it was never acknowledged.
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    return [line for line in lines if line.strip() and _complete(line)]


def _complete(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


@contextmanager
def _locked_claim(path: Path) -> Iterator[bool]:
    """Hold `path` exclusively; False when it is gone or another replayer holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        # Finished and unlinked by another replayer between our listing and our lock?
        yield path.exists() and os.stat(path).st_ino == os.fstat(fd).st_ino
    finally:
        os.close(fd)


def _rewrite(path: Path, lines: list[str]) -> None:
    """Replace the claim's content with the entries still to apply, atomically."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)
