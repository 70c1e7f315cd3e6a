"""Reloading regions.toml and the prompts while the service runs, on SIGHUP or when they change.

The new configuration is loaded in full, off the event loop, and only a clean load replaces
the running one, in a single assignment to `Services.config`: a request sees the old
configuration or the new one, never a mix. Anything derived from the configuration belongs
on the `Config` object, so that one assignment is all a reload needs. A broken file is logged
with its file, line and reason, and the running configuration stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ivr.config.loading import Config, load_config
from ivr.config.settings import Settings
from ivr.config.tomlfile import ConfigError

log = logging.getLogger("ivr")
WATCH_EVERY_SECONDS = 2.0

Fingerprint = tuple[tuple[str, int, int], ...]


class Holder(Protocol):
    """What holds the running configuration (the service): its settings, and `config`, which
    a reload replaces in one assignment."""

    settings: Settings
    config: Config


class ConfigReloader:
    """Reloads `services.config` on request, on SIGHUP, and (IVR_RELOAD=watch) on changes."""

    def __init__(self, services: Holder, load: Callable[[Settings], Config] = load_config) -> None:
        self.services = services
        self.load = load
        self._lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[bool]] = set()
        self._on_sighup = False

    async def reload(self, why: str) -> bool:
        """Load the configuration again; True if it replaced the running one."""
        async with self._lock:  # a signal during a watch reload waits its turn
            try:
                config = await asyncio.to_thread(self.load, self.services.settings)
            except ConfigError as exc:
                log.error("configuration not reloaded (%s); the running one is kept:\n%s", why, exc)
                return False
            except Exception:
                log.exception("configuration not reloaded (%s); the running one is kept", why)
                return False
            self.services.config = config
        languages = len(config.prompts.languages)
        log.info(
            "configuration reloaded (%s): %d regions, %d languages",
            why,
            len(config.regions.regions),
            languages,
        )
        return True

    def start(self) -> ConfigReloader:
        """Listen for SIGHUP and, with IVR_RELOAD=watch, poll the files; call from the loop."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._reload_soon, "SIGHUP")
            self._on_sighup = True
        except (ValueError, RuntimeError, NotImplementedError):
            # Signals reach only the main thread's loop (an app run inside a test client's
            # thread has none); reload() still works there.
            log.debug("no SIGHUP reload in this thread")
        if self.services.settings.reload == "watch":
            self._watcher = asyncio.create_task(self.watch(WATCH_EVERY_SECONDS))
        return self

    async def stop(self) -> None:
        if self._on_sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._on_sighup = False
        tasks = [t for t in (self._watcher, *self._pending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _reload_soon(self, why: str) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(why))
        self._pending.add(task)  # keep a reference until it is done
        task.add_done_callback(self._pending.discard)

    async def watch(self, every: float) -> None:
        """Reload whenever the regions file or a prompt file is changed, added or removed."""
        seen = await asyncio.to_thread(self.fingerprint)
        while True:
            await asyncio.sleep(every)
            current = await asyncio.to_thread(self.fingerprint)
            if current != seen:
                seen = current  # a broken edit is reported once, not every poll
                await self.reload("files changed")

    def fingerprint(self) -> Fingerprint:
        """Path, modification time and size of every file the configuration is read from."""
        settings = self.services.settings
        files = [settings.regions, settings.flows]
        if settings.prompts.is_dir():
            files += sorted(settings.prompts.glob("*/*.toml"))
        return tuple(_stat(file) for file in files)


def _stat(file: Path) -> tuple[str, int, int]:
    try:
        status = file.stat()
    except OSError:
        return str(file), -1, -1
    return str(file), status.st_mtime_ns, status.st_size
