"""`python -m bench`: one whole benchmark run on this machine (results: bench/RESULTS.md).

The servers run on core 0 (`taskset -c 0`), wrk and this process on core 1; only the 2-worker
run puts the server and wrk on both cores. Twilio's sample IVR is measured in the same run when
it can be had (bench/peer.py); when not, its target is SKIPPED, not failed. Progress goes to
stderr, the report to stdout. Exit 0 when every target passes, 1 when one fails, 2 when the
benchmark cannot run here (wrk or taskset missing, fewer than two cores). `--surge [N]` runs
the surge instead (bench/surge_command.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import os
import platform
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.lua import lua_script
from bench.mix import LINES, SignedRequest, build_mix, composition
from bench.peer import (
    REPOSITORY,
    PeerInstall,
    PeerUnavailable,
    describe,
    fetch_peer,
    first_of_each_kind,
    peer_mix,
)
from bench.profiling import (
    Profile,
    cprofile_inprocess,
    cprofile_startup,
    parse_raw,
    pyspy_path,
    pyspy_record,
    pyspy_version,
    summarise,
    summarise_startup,
)
from bench.regions import write_regions
from bench.report import FRESH, PEER, RESTART, ColdStart, Measurement, Report, ServerLog, Skipped
from bench.servers import (
    Cores,
    CpuUse,
    Launch,
    LoadWatch,
    PortTaken,
    Probe,
    Server,
    ServerFailed,
    ask,
    children,
    core_list,
    cpu_snapshot,
    end,
    free_port,
    wait_answering,
)
from bench.wrk import INSTALL_HINT, run_wrk, wrk_path

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = 0
LOAD_CPU = 1
BOTH_CPUS = (SERVER_CPU, LOAD_CPU)  # the 2-worker run: server and wrk share them
PUBLIC_URL = "https://ivr.example.com"
CONNECTIONS = 32
LIBRARIES = ("uvloop/loop", "httptools/parser")


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Load benchmark of the ivr webhook service."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per run")
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="cold starts to take the median of"
    )
    parser.add_argument("--calls", type=int, default=240, help="calls in the pre-signed mix")
    parser.add_argument("--regions", type=int, default=500, help="regions of the large file")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of the mix per regions file, alternating (the targets take medians)",
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="profile the mix (py-spy, else cProfile): auto = when a target fails",
    )
    parser.add_argument("--results", type=Path, help="also write the report as Markdown here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--peer-source",
        metavar="PATH",
        help=f"clone Twilio's sample IVR from here (a path or URL git clones from) instead of"
        f" github.com/{REPOSITORY}",
    )
    parser.add_argument(
        "--surge",
        type=int,
        nargs="?",
        const=300,
        metavar="N",
        help="instead: N whole calls at once (default 300), then check their records",
    )
    parser.add_argument(
        "--surge-database",
        metavar="URL",
        help="the surge on PostgreSQL, in a fresh schema of this database (default: SQLite)",
    )
    return parser.parse_args(argv)


def missing_tools() -> str | None:
    if wrk_path() is None:
        return INSTALL_HINT
    if shutil.which("taskset") is None:
        return "taskset is missing (Debian package util-linux): `apt-get install -y util-linux`"
    if not {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0):
        return f"needs cores {SERVER_CPU} and {LOAD_CPU}: one for the server, one for wrk"
    return None


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_lines() -> list[str]:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    wrk_version = (wrk.stdout or wrk.stderr).splitlines()[0].split("Copyright")[0].strip()
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("uvicorn", "uvloop", "httptools", "fastapi", "starlette", "twilio")
    )
    more = ", ".join(
        f"{name} {_version(name)}" for name in ("pydantic", "SQLAlchemy", "phonenumbers")
    )
    return [
        f"CPU: {model}, {os.cpu_count()} cores; Linux {platform.release()}",
        f"Python {platform.python_version()}; {versions}; {more}",
        f"load generator: {wrk_version}",
    ]


class Bench:
    """One run's temporary folder, signed mix, wrk script and server launches."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.token = secrets.token_hex(16)
        self.requests = build_mix(self.token, PUBLIC_URL, calls=args.calls)
        self.script = tmp / "mix.lua"
        self.script.write_text(lua_script(self.requests), encoding="utf-8")
        self.regions_18 = ROOT / "regions.toml"
        self.regions_big = tmp / f"regions-{args.regions}.toml"
        self.region_count = write_regions(
            self.regions_18, ROOT / "prompts", self.regions_big, args.regions
        )
        self.probe = Probe(next(r for r in self.requests if r.kind == "incoming"))
        self._dirs = 0

    def workdir(self, name: str) -> Path:
        self._dirs += 1
        path = self.tmp / f"{self._dirs:02d}-{name}"
        path.mkdir()
        return path

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("IVR_", "TWILIO_"))
        }
        return {**env, **extra}

    def ivr(
        self,
        name: str,
        regions: Path,
        port: int,
        workdir: Path | None = None,
        workers: int = 1,
    ) -> Launch:
        """`ivr serve` with signed webhooks and a fresh SQLite file (unless `workdir` has one);
        with several `workers`, each reads this same environment."""
        workdir = workdir or self.workdir(name)
        env = self._env(
            {
                "TWILIO_AUTH_TOKEN": self.token,
                "IVR_PUBLIC_URL": PUBLIC_URL,
                "IVR_REGIONS": str(regions),
                "IVR_PROMPTS": str(ROOT / "prompts"),
                "IVR_FLOWS": str(ROOT / "flows.toml"),
                "IVR_DATABASE_URL": f"sqlite:///{workdir / 'ivr.sqlite3'}",
                "IVR_SPOOL_DIR": str(workdir / "spool"),
            }
        )
        ivr = Path(sys.executable).with_name("ivr")
        argv = (
            str(ivr),
            "serve",
            "--no-access-log",
            "--workers",
            str(workers),
            "--port",
            str(port),
        )
        return Launch(name, argv, env, workdir, workdir / "server.log")

    def bare(self, port: int) -> Launch:
        workdir = self.workdir("bare")
        env = self._env({"PYTHONPATH": str(ROOT)})
        argv = (sys.executable, "-m", "bench.bare", "--port", str(port))
        return Launch("bare", argv, env, workdir, workdir / "server.log")

    def cold_starts(
        self, label: str, runs: int, regions: Path, reuse: bool = False, kind: str = ""
    ) -> ColdStart:
        times = []
        workdir = self.workdir("cold-reused") if reuse else None
        if workdir is not None:  # migrate it once, outside the timing
            on_free_port(lambda p: self.ivr("prepare", regions, p, workdir), self._start_and_stop)
        for run in range(runs):
            name = f"cold-{run}"
            make = functools.partial(self.ivr, name, regions, workdir=workdir)
            times.append(on_free_port(make, self._start_and_stop))
        return ColdStart(label, tuple(times), kind)

    def _start_and_stop(self, launch: Launch) -> float:
        with Server(launch, launch.port, SERVER_CPU) as server:
            return server.wait_answering(self.probe)

    def load(
        self,
        name: str,
        launch: Launch,
        profile_seconds: float = 0.0,
        plan: LoadPlan | None = None,
    ) -> tuple[Measurement, Path | None, int]:
        """Warm up, then measure; with `profile_seconds`, py-spy records during the measured
        run instead (its numbers are then not the benchmark's). `plan` is what is sent
        and where (default: the signed mix, the server on core 0 and wrk on core 1)."""
        plan = plan or LoadPlan(self.script, self.probe)
        port = launch.port
        url = f"http://127.0.0.1:{port}"
        raw: Path | None = None
        ticks = 0
        with Server(launch, port, plan.cores) as server:
            server.wait_answering(plan.probe)
            for request in plan.checks:
                status = ask(port, request)
                if status != 200:
                    raise ServerFailed(
                        f"{launch.name} answered {request.kind} ({request.path}) with {status}"
                    )
            run_wrk(url, plan.script, self.args.warmup, CONNECTIONS, plan.load_cores)
            spy = None
            if profile_seconds:
                raw = launch.cwd / "py-spy.txt"
                rate = 100
                ticks = int(profile_seconds) * rate
                command = pyspy_record(
                    raw, rate, LOAD_CPU, pid=server.pid, seconds=profile_seconds, gil=True
                )
                spy = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
                time.sleep(0.3)
            before = cpu_snapshot(server.pid, plan.cores)
            load_watch = LoadWatch(plan.load_cores)
            result = run_wrk(url, plan.script, self.args.duration, CONNECTIONS, plan.load_cores)
            load_side = load_watch.read()
            cores = len(core_list(plan.cores))
            cpu = CpuUse.between(before, cpu_snapshot(server.pid, plan.cores), cores)
            if spy is not None:
                output, _ = spy.communicate(timeout=profile_seconds + 60)
                if spy.returncode != 0:
                    raise RuntimeError(f"py-spy failed: {output}")
            measurement = Measurement(
                name=name,
                wrk=result,
                rss_kib=server.rss_kib(),
                pid=server.pid,
                affinity=tuple(sorted(server.affinity())),
                libraries={
                    name.split("/")[0]: found
                    for name, found in server.loaded(*plan.libraries).items()
                },
                log=ServerLog(0, 0, 0, 0, 0),
                cpu=cpu,
                load_side=load_side,
                shared=bool(set(core_list(plan.cores)) & set(core_list(plan.load_cores))),
                processes=server.processes(),
            )
        log = read_log(launch.log) if plan.ivr_log else None
        return dataclasses.replace(measurement, log=log), raw, ticks

    def two_workers(self) -> Measurement | Skipped:
        """`ivr serve --workers 2` (18 regions) on both cores, wrk on the same two."""
        plan = LoadPlan(self.script, self.probe, cores=BOTH_CPUS, load_cores=BOTH_CPUS)
        try:
            measured, _, _ = on_free_port(
                lambda port: self.ivr("mix-2-workers", self.regions_18, port, workers=2),
                lambda launch: self.load("ivr mix, 18 regions, 2 workers", launch, plan=plan),
            )
        except ServerFailed as error:
            return Skipped(f"ivr serve --workers 2: {error}")
        return measured

    def fetch_peer(self) -> PeerInstall | Skipped:
        """Twilio's sample IVR, cloned and installed in this run's folder (before any
        measurement: pip's work does not overlap one)."""
        source = self.args.peer_source
        progress(f"{PEER}: cloning {source or REPOSITORY}, installing flask, gunicorn, twilio")
        folder = self.workdir("peer")
        try:
            return fetch_peer(source, folder)
        except PeerUnavailable as error:
            return Skipped(str(error))

    def peer(self, install: PeerInstall) -> Measurement | Skipped:
        """The sample under its own webhooks, measured like the bare app (every route is
        asked once first: a route that does not answer 200 would make its req/s meaningless)."""
        requests = peer_mix(self.args.calls)
        script = self.tmp / "peer.lua"
        script.write_text(lua_script(requests), encoding="utf-8")
        plan = LoadPlan(
            script,
            Probe(requests[0]),
            checks=tuple(first_of_each_kind(requests)),
            libraries=(),
            ivr_log=False,
        )

        def launch(port: int) -> Launch:
            return install.launch(port, self.workdir("peer-serve"), self._env({}))

        try:
            measured, _, _ = on_free_port(
                launch, lambda made: self.load(f"{PEER} (Flask)", made, plan=plan)
            )
        except ServerFailed as error:
            return Skipped(f"gunicorn serving the sample: {error}")
        except RuntimeError as error:  # wrk could not load it
            return Skipped(f"the sample under wrk: {error}")
        return measured

    def load_profile(self) -> Profile:
        """Where a request's time goes: py-spy on `ivr serve` under the mix, or cProfile on
        the in-process handler path when py-spy is not installed."""
        seconds = self.args.duration
        if pyspy_path() is not None:
            progress(f"profiling ivr serve with py-spy for {seconds:g} s under the same mix")
            measured, raw, ticks = on_free_port(
                lambda port: self.ivr("profile", self.regions_18, port),
                lambda launch: self.load("profile", launch, profile_seconds=seconds),
            )
            assert raw is not None
            how = (
                f"{pyspy_version()} --gil at 100 Hz for {int(seconds)} s on `ivr serve` (18"
                f" regions) under the same wrk mix ({measured.wrk.rps:,.0f} req/s while sampled)"
            )
            return summarise(parse_raw(raw.read_text()), "py-spy", how, ticks)
        progress("py-spy not installed: cProfile on the in-process handler path instead")
        from bench.inprocess import bench_settings
        from ivr.web.app import create_app

        workdir = self.workdir("cprofile")
        settings = bench_settings(
            self.token, PUBLIC_URL, self.regions_18, ROOT / "prompts", workdir
        )
        return cprofile_inprocess(create_app(settings), self.requests)

    def startup_profile(self) -> Profile:
        """Where the cold start goes: py-spy starts `ivr serve` (fresh SQLite, 18 regions) and
        samples it until the probe is answered."""
        if pyspy_path() is None:
            progress("py-spy not installed: cProfile of the start-up path instead")
            launch = self.ivr("startup-profile", self.regions_18, 0)
            return cprofile_startup(launch.env, launch.cwd, launch.cwd / "startup.prof")
        progress("profiling a cold start of ivr serve with py-spy")
        return on_free_port(
            lambda port: self.ivr("startup-profile", self.regions_18, port), self._profile_start
        )

    def _profile_start(self, launch: Launch) -> Profile:
        port = launch.port
        raw = launch.cwd / "py-spy.txt"
        server = ["taskset", "-c", str(SERVER_CPU), *launch.argv]
        command = pyspy_record(raw, 500, LOAD_CPU, command=server)
        with launch.log.open("ab") as log:
            started = time.perf_counter()
            spy = subprocess.Popen(
                command, env=launch.env, cwd=launch.cwd, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                took = wait_answering(spy, port, self.probe, started, name="py-spy + ivr serve")
            finally:
                served = children(spy.pid)
                end(spy.pid, timeout=30)  # py-spy writes its file on SIGINT
                spy.wait()
                for pid in served:
                    end(pid)
        how = (
            f"{pyspy_version()} at 500 Hz (non-blocking) from the start of `ivr serve` (18"
            f" regions, fresh SQLite) to the first signed /voice/incoming answered: {took:.2f} s"
            " while sampled"
        )
        return summarise_startup(parse_raw(raw.read_text(), drop_cli=False), how)


@dataclasses.dataclass(frozen=True)
class LoadPlan:
    """What one load run sends and where: wrk's script, the probe that says the server is up,
    requests that must each answer 200 before the load, the libraries to look for in the
    server, and the cores of the server and of wrk."""

    script: Path
    probe: Probe
    checks: tuple[SignedRequest, ...] = ()
    libraries: tuple[str, ...] = LIBRARIES
    cores: Cores = SERVER_CPU
    load_cores: Cores = LOAD_CPU
    ivr_log: bool = True  # the server is ivr (or serves like it): count its log lines


R = TypeVar("R")


def on_free_port(make: Callable[[int], Launch], attempt: Callable[[Launch], R]) -> R:
    """`attempt(make(port))` on a free port; again on another port when a process that is
    not ours answers on it (other programs on this machine start servers too)."""
    for _ in range(3):
        try:
            return attempt(make(free_port()))
        except PortTaken as error:
            progress(f"{error}: trying another port")
    raise ServerFailed("three ports in a row were taken by other processes")


def read_log(log: Path) -> ServerLog:
    text = log.read_text(errors="replace")
    return ServerLog(
        webhook_failures=len(re.findall(r"webhook failed \(error id", text)),
        bad_signatures=text.count("rejected webhook with a bad signature"),
        refused_calls=text.count("refused a call from"),
        asgi_exceptions=text.count("Exception in ASGI application"),
        client_disconnects=len(re.findall(r"^starlette\.requests\.ClientDisconnect", text, re.M)),
    )


def header(
    bench: Bench,
    machine: list[str],
    requests: list[SignedRequest],
    peer: PeerInstall | Skipped,
) -> list[str]:
    args = bench.args
    mix = composition(requests)
    share = ", ".join(f"{kind} {100 * n / len(requests):.0f}%" for kind, n in mix.items())
    regions = ", ".join(line.region for line in LINES)
    return [
        "ivr webhook benchmark",
        *[f"  {line}" for line in machine],
        f"  cores: servers on core {SERVER_CPU} (taskset -c {SERVER_CPU}), wrk on core {LOAD_CPU}"
        f" (taskset -c {LOAD_CPU}), this process on core {LOAD_CPU} (idle while wrk runs)",
        "  servers: `ivr serve` (1 worker; uvicorn picks uvloop + httptools, checked in"
        " /proc/<pid>/maps); access log off (`ivr serve --no-access-log`, as behind nginx,"
        " which logs every request), and the bare app is served the same way (bench/bare.py)",
        f"  signed: TWILIO_AUTH_TOKEN set, IVR_PUBLIC_URL={PUBLIC_URL}; every request carries"
        " X-Twilio-Signature (RequestValidator.compute_signature, computed before the run)",
        "  database: a fresh SQLite file per server in a temp dir; writes on incoming and menu"
        " (step upsert; queue entry when a menu choice queues) and status (upsert); queue"
        " polls only read",
        f"  mix: {len(requests)} pre-signed requests = {args.calls} calls over {len(LINES)}"
        f" regions ({regions}), replayed in order, round and round: {share}",
        f"  load: wrk -c {CONNECTIONS} -t 1 --latency, {args.warmup:g} s warm-up, then"
        f" {args.duration:g} s measured per run; the bare app once, ivr {args.rounds} rounds per"
        f" regions file, alternating; large regions file: {bench.region_count} regions (the 18"
        " sample ones + generated)",
        *peer_header(peer),
        f"  scaling: `ivr serve --workers 2` once (18 regions, the same mix and wrk settings),"
        f" the server AND wrk on cores {SERVER_CPU},{LOAD_CPU} (taskset -c"
        f" {SERVER_CPU},{LOAD_CPU}): in that run wrk shares the cores with the server",
    ]


def peer_header(peer: PeerInstall | Skipped) -> list[str]:
    if isinstance(peer, Skipped):
        return [f"  peer: {PEER} ({REPOSITORY}): SKIPPED: {peer.reason}"]
    mix = composition(peer_mix())
    share = ", ".join(f"{kind} {100 * n / sum(mix.values()):.0f}%" for kind, n in mix.items())
    return [
        f"  peer: {PEER}, {describe(peer)}; on core {SERVER_CPU} like the servers above,"
        f" measured once like the bare app under a mix of its own webhooks (unsigned: it"
        f" checks no signature; Twilio's parameters as in the ivr mix): {share}",
    ]


def run(args: argparse.Namespace, tmp: Path) -> int:
    machine = machine_lines()
    progress("building and signing the mix, writing the wrk script and the large regions file")
    bench = Bench(args, tmp)
    progress(f"{len(bench.requests)} requests; {bench.region_count} regions in the large file")
    install = bench.fetch_peer()
    if isinstance(install, Skipped):
        progress(f"{PEER}: SKIPPED: {install.reason}")

    progress(f"cold starts: {args.cold_runs} x fresh database, sample regions")
    cold = [
        bench.cold_starts(
            "18 regions, fresh SQLite (migrations run)",
            args.cold_runs,
            bench.regions_18,
            kind=FRESH,
        )
    ]
    progress(f"cold starts: {args.cold_runs} x already migrated database; 3 x the large file")
    cold.append(
        bench.cold_starts(
            "18 regions, migrated SQLite (a restart)",
            args.cold_runs,
            bench.regions_18,
            reuse=True,
            kind=RESTART,
        )
    )
    cold.append(
        bench.cold_starts(f"{bench.region_count} regions, fresh SQLite", 3, bench.regions_big)
    )

    progress("bare FastAPI endpoint under the mix")
    bare, _, _ = on_free_port(
        bench.bare, lambda launch: bench.load("bare FastAPI (constant)", launch)
    )
    progress(f"  {bare.wrk.rps:,.0f} req/s")
    peer: Measurement | Skipped
    if isinstance(install, Skipped):
        peer = install
    else:
        progress(f"{PEER} (gunicorn, 1 sync worker) under its own webhooks")
        peer = bench.peer(install)
        if isinstance(peer, Skipped):
            progress(f"  SKIPPED: {peer.reason}")
        else:
            progress(f"  {peer.wrk.rps:,.0f} req/s")
    mix: list[Measurement] = []
    big: list[Measurement] = []
    for round_ in range(1, args.rounds + 1):
        for regions, count, runs in (
            (bench.regions_18, 18, mix),
            (bench.regions_big, bench.region_count, big),
        ):
            name = f"ivr mix, {count} regions #{round_}"
            progress(f"{name}: ivr serve under the mix")
            measured, _, _ = on_free_port(
                functools.partial(bench.ivr, f"mix-{count}", regions),
                functools.partial(bench.load, name),
            )
            progress(f"  {measured.wrk.rps:,.0f} req/s, {measured.cpu_ms_per_request:.2f} ms CPU")
            runs.append(measured)

    progress("ivr serve --workers 2 under the mix, server and wrk on both cores")
    two_workers = bench.two_workers()
    if isinstance(two_workers, Measurement):
        progress(f"  {two_workers.wrk.rps:,.0f} req/s")

    report = Report(
        header(bench, machine, bench.requests, install),
        bare,
        mix,
        big,
        cold,
        peer=peer,
        two_workers=two_workers,
    )
    verdicts = {target.name: not target.failed for target in report.targets()}
    load_failed = not all(passed for name, passed in verdicts.items() if "cold" not in name)
    cold_failed = not all(passed for name, passed in verdicts.items() if "cold" in name)
    if args.profile == "always" or (args.profile == "auto" and load_failed):
        report.profiles.append(bench.load_profile())
    if args.profile == "always" or (args.profile == "auto" and cold_failed):
        report.profiles.append(bench.startup_profile())
    lines = report.lines()
    print("\n".join(lines), flush=True)
    if args.results:
        from bench.report import markdown

        python = os.path.relpath(sys.executable, Path.cwd())
        argv = sys.argv[1:] if sys.argv and sys.argv[0].endswith("__main__.py") else []
        command = shlex.join([python, "-m", "bench", *argv])
        from bench.surge_report import keep_surge

        rewritten = keep_surge(args.results, markdown(report, command, machine))
        args.results.write_text(rewritten, encoding="utf-8")
        progress(f"wrote {args.results}")
    return 1 if report.failed() else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.surge is not None:
        from bench.surge_command import run_surge_command

        return run_surge_command(args)
    problem = missing_tools()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {LOAD_CPU})  # keep this process off the server's core
    tmp = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    try:
        return run(args, tmp)
    finally:
        if args.keep:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
