"""Servers under test: spawned pinned to one core, probed until they answer, measured, stopped.

Only processes this module starts are ever signalled, by their own pid.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TypeAlias

from bench.mix import SignedRequest

Cores: TypeAlias = int | tuple[int, ...]  # one core, or several (taskset -c 0,1)


def core_list(cores: Cores) -> tuple[int, ...]:
    return (cores,) if isinstance(cores, int) else cores


def taskset_cores(cores: Cores) -> str:
    """`cores` as taskset's -c takes them: "0", "0,1"."""
    return ",".join(str(core) for core in core_list(cores))


@dataclass(frozen=True)
class Launch:
    """How to start one server: its command, environment and working folder, and the port
    its command binds (0: the command's last argument is the port)."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    log: Path
    bound: int = 0

    @property
    def port(self) -> int:
        return self.bound or int(self.argv[-1])


@dataclass(frozen=True)
class Probe:
    """The request that proves a server answers, and the statuses that count as answered."""

    request: SignedRequest
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200}))


class ServerFailed(RuntimeError):
    """The server exited, or did not answer the probe in time."""


class PortTaken(ServerFailed):
    """Another process (not the one we started) answered on the port we picked."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ask(port: int, request: SignedRequest, timeout: float = 5.0) -> int:
    """Send `request` to 127.0.0.1:`port`, read the whole answer, return its status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            request.method, request.path, body=request.body, headers=dict(request.headers)
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def wait_answering(
    process: subprocess.Popen[bytes],
    port: int,
    probe: Probe,
    started_at: float,
    timeout: float = 30.0,
    name: str = "server",
) -> float:
    """Poll 127.0.0.1:`port` in a tight loop (no sleep: this process runs on the other core)
    until `probe` is answered; seconds since `started_at` (a perf_counter reading)."""
    deadline = started_at + timeout
    while True:
        if process.poll() is not None:
            raise ServerFailed(f"{name} exited ({process.returncode})")
        try:
            status = ask(port, probe.request)
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            status = 0
        now = time.perf_counter()
        if status and not listens(process.pid, port):
            raise PortTaken(f"port {port} is another process's; {name} has not bound it")
        if status in probe.ok:
            return now - started_at
        if status:
            raise ServerFailed(f"{name} answered the probe with {status}")
        if now > deadline:
            raise ServerFailed(f"{name} did not answer within {timeout:g} s")


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` (or a child of it: py-spy starts the server it profiles) holds
    the listening TCP socket on `port`, from /proc/net/tcp and the file descriptors."""
    return bool(holders((pid, *children(pid)), port))


def holders(pids: Iterable[int], port: int) -> list[int]:
    """Those of `pids` holding the listening TCP socket on `port`: a server's workers, not
    its helper processes (multiprocessing's resource tracker)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            inodes.add(f"socket:[{inode}]")
    found = []
    for owner in pids:
        try:
            fds = list(Path(f"/proc/{owner}/fd").iterdir())
        except FileNotFoundError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    found.append(owner)
                    break
            except OSError:
                continue
    return found


def children(pid: int) -> list[int]:
    """The child processes of `pid` (one we started)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def descendants(pid: int) -> list[int]:
    """The children of `pid`, theirs, and so on: the worker processes of a server that forks
    (uvicorn --workers N, gunicorn)."""
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def end(pid: int, timeout: float = 10.0) -> None:
    """SIGINT to `pid` (a process this benchmark started), SIGKILL if it is still there after
    `timeout` seconds."""
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                return
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return True


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU time so far of one process and of one core, in clock ticks, and when."""

    at: float
    process: int  # utime + stime of the server (all its threads)
    system: int  # stime alone: the kernel's work for the server
    core_busy: int  # everything but idle and iowait, every process, on the core
    core_steal: int  # time the hypervisor gave this core's slot to another machine


def core_ticks(cores: Cores) -> tuple[int, int]:
    """(busy, steal) clock ticks so far of `cores`, added up, every process and interrupt."""
    wanted = {f"cpu{core}" for core in core_list(cores)}
    busy = steal = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if name in wanted:
            wanted.remove(name)
            values = [int(v) for v in rest.split()]
            idle = values[3] + values[4]
            stolen = values[7] if len(values) > 7 else 0
            busy += sum(values[:8]) - idle - stolen
            steal += stolen
    if wanted:
        raise ServerFailed(f"no {', '.join(sorted(wanted))} line in /proc/stat")
    return busy, steal


def process_ticks(pid: int) -> tuple[int, int]:
    """(utime + stime, stime) clock ticks so far of `pid` (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0  # a worker gone between listing and reading
    return int(fields[11]) + int(fields[12]), int(fields[12])  # fields 14 and 15


def cpu_snapshot(pid: int, cores: Cores) -> CpuSnapshot:
    """The server's CPU time with that of its worker processes (the same workers must live
    through the run: uvicorn and gunicorn restart only a worker that died)."""
    process = system = 0
    for owner in (pid, *descendants(pid)):
        total, kernel = process_ticks(owner)
        process += total
        system += kernel
    busy, steal = core_ticks(cores)
    return CpuSnapshot(time.perf_counter(), process, system, busy, steal)


@dataclass(frozen=True)
class LoadSide:
    """Over one measured run, the load generator's core: wrk's CPU and everyone else's."""

    seconds: float
    wrk: float  # CPU seconds of wrk (a reaped child of this process)
    others: float  # other programs on that core (this process is idle meanwhile)


class LoadWatch:
    """Started before wrk runs, read after it has exited (and been reaped)."""

    def __init__(self, cores: Cores) -> None:
        self.cpu = cores
        self.at = time.perf_counter()
        self.busy, _ = core_ticks(cores)
        self.times = os.times()

    def read(self) -> LoadSide:
        busy, _ = core_ticks(self.cpu)
        times = os.times()
        wrk = (times.children_user - self.times.children_user) + (
            times.children_system - self.times.children_system
        )
        own = (times.user - self.times.user) + (times.system - self.times.system)
        core = (busy - self.busy) / CLOCK_TICKS
        return LoadSide(time.perf_counter() - self.at, wrk, max(0.0, core - wrk - own))


@dataclass(frozen=True)
class CpuUse:
    """Over one measured run: the server's CPU time (its workers' too), and who else used
    its cores."""

    seconds: float  # wall time
    server: float  # server CPU seconds
    system: float  # of which in the kernel
    others: float  # other CPU seconds on the server's cores (processes, interrupts)
    steal: float  # seconds the hypervisor took the cores away
    cores: int = 1  # how many cores the server had

    @property
    def core_seconds(self) -> float:
        """What the server's cores could give over the run."""
        return self.seconds * self.cores

    @staticmethod
    def between(before: CpuSnapshot, after: CpuSnapshot, cores: int = 1) -> CpuUse:
        server = (after.process - before.process) / CLOCK_TICKS
        busy = (after.core_busy - before.core_busy) / CLOCK_TICKS
        return CpuUse(
            seconds=after.at - before.at,
            server=server,
            system=(after.system - before.system) / CLOCK_TICKS,
            others=max(0.0, busy - server),
            steal=(after.core_steal - before.core_steal) / CLOCK_TICKS,
            cores=cores,
        )


class Server:
    """One server process, pinned to `cpu` (a core or several) with taskset (which execs it:
    same pid); its workers, if it forks any, inherit the pinning."""

    def __init__(self, launch: Launch, port: int, cpu: Cores) -> None:
        self.launch = launch
        self.port = port
        self.cpu = cpu
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> None:
        log = self.launch.log.open("ab")
        self._log = log
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            ["taskset", "-c", taskset_cores(self.cpu), *self.launch.argv],
            env=self.launch.env,
            cwd=self.launch.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_answering(self, probe: Probe, timeout: float = 30.0) -> float:
        """Poll in a tight loop until `probe` is answered; seconds since `start`."""
        assert self.process is not None, "not started"
        return wait_answering(
            self.process, self.port, probe, self.started_at, timeout, self.launch.name
        )

    def rss_kib(self) -> int:
        """VmRSS of the server process and its workers, added up, in KiB (as
        /proc/<pid>/status gives it)."""
        total = 0
        for owner in (self.pid, *descendants(self.pid)):
            for line in Path(f"/proc/{owner}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            else:
                raise ServerFailed(f"no VmRSS line for pid {owner}")
        return total

    def processes(self) -> int:
        """The server process and its workers."""
        return 1 + len(descendants(self.pid))

    def affinity(self) -> set[int]:
        return os.sched_getaffinity(self.pid)

    def loaded(self, *names: str) -> dict[str, bool]:
        """Which of the shared libraries `names` (path fragments) the process has mapped, or
        its workers when it starts them (a supervisor serves no request itself)."""
        workers = holders(descendants(self.pid), self.port) or [self.pid]
        maps = [Path(f"/proc/{pid}/maps").read_text() for pid in workers]
        return {name: all(name in text for text in maps) for name in names}

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            workers = descendants(process.pid)
            process.send_signal(signal.SIGINT)  # uvicorn's and gunicorn's graceful shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for pid in workers:  # a supervisor killed before it stopped its workers
                end(pid)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
