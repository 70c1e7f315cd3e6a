"""What one run found: the numbers, the targets next to them (PASS/FAIL, or SKIPPED when what
a target compares with could not be measured here), the profile, and the same as Markdown for
bench/RESULTS.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.profiling import Profile
from bench.servers import CpuUse, LoadSide
from bench.wrk import WrkResult

# The targets, as the issue states them.
MIN_SHARE_OF_BARE = 0.50
MAX_P99_MS = 15.0
MAX_RESTART_S = 1.0  # cold start on a migrated database: a restart
MAX_FRESH_START_S = 1.5  # cold start on a fresh database: the migrations run first
MAX_REGION_COST_RATIO = 1.05
MAX_RSS_MB = 150.0

PEER = "Twilio's sample IVR"  # TwilioDevEd/ivr-phone-tree-python, see bench/peer.py
FRESH = "fresh"
RESTART = "restart"


@dataclass(frozen=True)
class ServerLog:
    """What the server logged during the load (read from its log file afterwards)."""

    webhook_failures: int  # the error boundary answered with the apology
    bad_signatures: int  # 403s
    refused_calls: int  # <Reject>: blocked number or over the per-caller rate limit
    asgi_exceptions: int  # tracebacks out of the app (500s, or a client gone mid-body)
    client_disconnects: int  # of those: wrk closing its connections at the end of a run


@dataclass(frozen=True)
class Measurement:
    name: str
    wrk: WrkResult
    rss_kib: int
    pid: int
    affinity: tuple[int, ...]
    libraries: dict[str, bool]
    log: ServerLog | None  # None: not ivr, whose log lines these count
    cpu: CpuUse
    load_side: LoadSide
    shared: bool = False  # wrk ran on the server's cores
    processes: int = 1  # the server, its workers and helpers (RSS is theirs added up)

    @property
    def cores(self) -> int:
        return self.cpu.cores

    @property
    def rps_per_core(self) -> float:
        return self.wrk.rps / self.cores

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU time per answered request (all threads), in ms: what a request costs,
        whatever else ran on the core."""
        return 1000.0 * self.cpu.server / self.wrk.requests if self.wrk.requests else 0.0


@dataclass(frozen=True)
class Skipped:
    """A measurement this run could not take, and precisely why."""

    reason: str


@dataclass(frozen=True)
class ColdStart:
    label: str
    seconds: tuple[float, ...]
    kind: str = ""  # FRESH or RESTART for the cold starts the targets read

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    passed: bool
    skipped: bool = False  # not measured in this run: neither a pass nor a failure

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped

    @property
    def verdict(self) -> str:
        return "SKIPPED" if self.skipped else "PASS" if self.passed else "FAIL"


def _median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Report:
    """`mix` and `big` hold the rounds of the mix against the sample regions and the large
    regions file, run alternately; the targets take their medians."""

    header: list[str]
    bare: Measurement
    mix: list[Measurement]
    big: list[Measurement]
    cold: list[ColdStart]
    profiles: list[Profile] = field(default_factory=list)
    peer: Measurement | Skipped = Skipped("not measured in this run")
    two_workers: Measurement | Skipped = Skipped("not measured in this run")

    @property
    def mix_rps(self) -> float:
        return _median([m.wrk.rps for m in self.mix])

    @property
    def mix_p99_ms(self) -> float:
        return _median([m.wrk.p99_ms for m in self.mix])

    @property
    def share_of_bare(self) -> float:
        return self.mix_rps / self.bare.wrk.rps

    def cold_start(self, kind: str) -> ColdStart:
        return next(cold for cold in self.cold if cold.kind == kind)

    def _peer_target(self) -> Target:
        name = f"mix ahead of {PEER} (req/s)"
        if isinstance(self.peer, Skipped):
            return Target(name, self.peer.reason, passed=False, skipped=True)
        peer = self.peer.wrk.rps
        return Target(
            name,
            f"x{self.mix_rps / peer:.2f} ({self.mix_rps:,.0f} vs {peer:,.0f} req/s; the sample"
            f" at {peer / self.bare.wrk.rps:.1%} of bare)",
            self.mix_rps > peer,
        )

    def cpu_ms(self, runs: list[Measurement]) -> float:
        return _median([m.cpu_ms_per_request for m in runs])

    @property
    def region_cost_ratio(self) -> float:
        """Median server CPU per request with the large regions file over the same with the
        sample one (1.0 = the same). CPU time, not throughput: another program taking a share
        of the core lowers throughput, not what a request costs."""
        return self.cpu_ms(self.big) / self.cpu_ms(self.mix)

    @property
    def run_spread(self) -> float:
        """Half the range of CPU ms/req among the runs of one regions file, over its median,
        the larger of the two files: the run-to-run noise of the comparison."""
        spreads = []
        for runs in (self.mix, self.big):
            values = [m.cpu_ms_per_request for m in runs]
            spreads.append((max(values) - min(values)) / 2 / _median(values))
        return max(spreads)

    @property
    def rss_mb(self) -> float:
        return max(m.rss_kib for m in self.mix) * 1024 / 1e6

    def targets(self) -> list[Target]:
        restart, fresh = self.cold_start(RESTART), self.cold_start(FRESH)
        big_rps = _median([m.wrk.rps for m in self.big])
        regions = self.big[0].name.split(", ")[-1].split(" #")[0]
        return [
            Target(
                f"mix throughput >= {MIN_SHARE_OF_BARE:.0%} of bare",
                f"{self.share_of_bare:.1%} ({self.mix_rps:,.0f} / {self.bare.wrk.rps:,.0f} req/s)",
                self.share_of_bare >= MIN_SHARE_OF_BARE,
            ),
            Target(
                f"mix p99 < {MAX_P99_MS:g} ms at 32 connections",
                f"{self.mix_p99_ms:.1f} ms",
                self.mix_p99_ms < MAX_P99_MS,
            ),
            self._peer_target(),
            Target(
                f"cold start, migrated database (a restart) < {MAX_RESTART_S:.1f} s (median)",
                f"{restart.median:.3f} s",
                restart.median < MAX_RESTART_S,
            ),
            Target(
                f"cold start, fresh database < {MAX_FRESH_START_S:.1f} s (median)",
                f"{fresh.median:.3f} s",
                fresh.median < MAX_FRESH_START_S,
            ),
            Target(
                f"{regions} within 5% of 18 (CPU per request)",
                f"x{self.region_cost_ratio:.3f} ({self.cpu_ms(self.big):.2f} vs"
                f" {self.cpu_ms(self.mix):.2f} ms; throughput x{self.mix_rps / big_rps:.3f})",
                self.region_cost_ratio <= MAX_REGION_COST_RATIO,
            ),
            Target(
                f"memory per worker < {MAX_RSS_MB:g} MB (VmRSS after load)",
                f"{self.rss_mb:.1f} MB",
                self.rss_mb < MAX_RSS_MB,
            ),
        ]

    def failed(self) -> bool:
        return any(target.failed for target in self.targets())

    def runs(self) -> list[Measurement | Skipped]:
        """The load table's rows, in the order they ran: the bare app, the peer, the ivr
        rounds, then the 2-worker run."""
        rounds = [m for pair in zip(self.mix, self.big, strict=True) for m in pair]
        return [self.bare, self.peer, *rounds, self.two_workers]

    def lines(self, with_profile: bool = True) -> list[str]:
        out = list(self.header)
        runs = self.runs()
        names = [PEER if isinstance(run, Skipped) else run.name for run in runs]
        width = max(30, *(len(name) + 2 for name in names))
        out += [
            "",
            "load (wrk -c 32 -t 1 --latency; a warm-up run first, not counted; the ivr rounds"
            " alternate between the two regions files, the targets take their medians)",
            f"  {'':<{width}}{'req/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}"
            f"{'requests':>9}{'non-2xx':>8}{'sockerr':>8}{'CPU ms/req':>11}{'(sys)':>6}"
            f"{'RSS MB':>7}",
        ]
        for name, run in zip(names, runs, strict=True):
            if isinstance(run, Skipped):
                out.append(f"  {name:<{width}}SKIPPED: {run.reason}")
                continue
            w, cpu = run.wrk, run.cpu
            system = 1000.0 * cpu.system / w.requests if w.requests else 0.0
            out.append(
                f"  {name:<{width}}{w.rps:>8,.0f}{w.p50_ms:>8.1f}{w.p90_ms:>8.1f}"
                f"{w.p99_ms:>8.1f}{w.max_ms:>8.1f}{w.requests:>9,}{w.status_errors:>8}"
                f"{w.socket_errors:>8}{run.cpu_ms_per_request:>11.2f}{system:>6.2f}"
                f"{run.rss_kib * 1024 / 1e6:>7.1f}"
            )
        out.append("")
        for run in runs:
            if not isinstance(run, Skipped):
                out += _run_lines(run)
        out += [
            "  (webhook failures: the error boundary answered with its apology; refused calls:"
            " <Reject> by the screening (blocklist, calls per caller); ClientDisconnect:"
            " requests still queued in the server when wrk closed its connections at the end of"
            " a run, logged by uvicorn as an ASGI exception)",
            "",
            *self.peer_lines(),
            "",
            *self.scaling_lines(),
            "",
            "cold start (spawn `ivr serve` -> first signed /voice/incoming answered 200)",
        ]
        for cold in self.cold:
            times = ", ".join(f"{s:.3f}" for s in cold.seconds)
            out.append(f"  {cold.label:<44} median {cold.median:.3f} s   ({times})")
        out += ["", "targets"]
        targets = self.targets()
        width = max(len(target.name) for target in targets)
        for target in targets:
            out.append(f"  {target.verdict:<7}  {target.name:<{width}}  {target.measured}")
        if len(self.mix) > 1:
            within = abs(self.region_cost_ratio - 1.0) <= self.run_spread
            out.append(
                f"  (CPU ms/req of one regions file varied by up to +/-{self.run_spread:.0%}"
                f" between its runs; the {self.region_cost_ratio - 1:+.1%} difference is"
                f" {'within' if within else 'beyond'} that noise; more --rounds narrow it)"
            )
        if with_profile:
            for profile in self.profiles:
                out += [""] + profile_lines(profile)
        return out

    @property
    def peer_share_of_bare(self) -> float | None:
        if isinstance(self.peer, Skipped):
            return None
        return self.peer.wrk.rps / self.bare.wrk.rps

    def peer_lines(self) -> list[str]:
        """The sample under its own webhooks next to the bare app and the ivr mix."""
        title = f"peer: {PEER} under its own webhooks, measured like the bare app"
        if isinstance(self.peer, Skipped):
            return [title, f"  SKIPPED: {self.peer.reason}"]
        peer, share = self.peer.wrk, self.peer_share_of_bare
        return [
            title,
            f"  {peer.rps:,.0f} req/s = {share:.1%} of bare ({self.bare.wrk.rps:,.0f}); the ivr"
            f" mix {self.mix_rps:,.0f} req/s = {self.share_of_bare:.1%} of bare, x"
            f"{self.mix_rps / peer.rps:.2f} the sample's",
            f"  p99 {peer.p99_ms:.1f} ms (the ivr mix {self.mix_p99_ms:.1f} ms); CPU"
            f" {self.peer.cpu_ms_per_request:.2f} ms/req (the ivr mix"
            f" {self.cpu_ms(self.mix):.2f} ms/req)",
        ]

    def scaling_lines(self) -> list[str]:
        """1 worker on 1 core (the medians of the 18-region rounds, wrk on its own core) next
        to `ivr serve --workers 2` on 2 cores that wrk shares."""
        out = [
            "scaling: 1 worker on 1 core vs 2 workers on 2 cores shared with wrk (18 regions);"
            " in the 2-worker run wrk runs on the server's 2 cores too (taskset -c 0,1), so it"
            " takes CPU the workers would otherwise have",
        ]
        two = self.two_workers
        if isinstance(two, Skipped):
            return [*out, f"  2 workers: SKIPPED: {two.reason}"]
        one_rps = self.mix_rps
        out += [
            f"  {'':<36}{'req/s':>8}{'p99 ms':>8}{'req/s per core':>16}{'CPU ms/req':>12}",
            f"  {'1 worker, core 0, wrk on core 1':<36}{one_rps:>8,.0f}{self.mix_p99_ms:>8.1f}"
            f"{one_rps:>16,.0f}{self.cpu_ms(self.mix):>12.2f}",
            f"  {'2 workers, cores 0,1 shared with wrk':<36}{two.wrk.rps:>8,.0f}"
            f"{two.wrk.p99_ms:>8.1f}{two.rps_per_core:>16,.0f}{two.cpu_ms_per_request:>12.2f}",
            f"  2 workers / 1 worker: x{two.wrk.rps / one_rps:.2f} req/s, x"
            f"{two.rps_per_core / one_rps:.2f} per core; wrk took"
            f" {100 * two.load_side.wrk / two.cpu.core_seconds:.0f}% of the 2 cores",
        ]
        return out


def _run_lines(measurement: Measurement) -> list[str]:
    """Where a run ran, who else used its cores, and what the server logged."""
    libs = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in measurement.libraries.items())
    log, cpu, load = measurement.log, measurement.cpu, measurement.load_side

    def server_share(seconds: float) -> str:
        return f"{100 * seconds / cpu.core_seconds:.0f}%"

    def load_share(seconds: float) -> str:
        return f"{100 * seconds / load.seconds:.0f}%"

    where = f"  {measurement.name}: pid {measurement.pid}, cores {list(measurement.affinity)}"
    if measurement.processes > 1:
        where += f", {measurement.processes} processes (the server, its workers and helpers;"
        where += " RSS added up)"
    lines = [where + (f", {libs}" if libs else "")]
    if measurement.shared:
        # wrk is a child of this process: its CPU is known, and the rest is other programs'.
        others = max(0.0, cpu.others - load.wrk)
        lines.append(
            f"    in the measured run, its {cpu.cores} cores (shared with wrk): server"
            f" {server_share(cpu.server)}, wrk {server_share(load.wrk)}, others"
            f" {server_share(others)}, steal {server_share(cpu.steal)}"
        )
    else:
        others = cpu.others
        lines.append(
            f"    in the measured run, its core: server {server_share(cpu.server)}, others"
            f" {server_share(cpu.others)}, steal {server_share(cpu.steal)}; wrk's core: wrk"
            f" {load_share(load.wrk)}, others {load_share(load.others)}"
        )
    if log is not None:
        lines.append(
            f"    log: {log.webhook_failures} webhook failures, {log.bad_signatures} bad"
            f" signatures, {log.refused_calls} refused calls, {log.asgi_exceptions} ASGI"
            f" exceptions ({log.client_disconnects} of them ClientDisconnect)"
        )
    if others > 0.05 * cpu.core_seconds:
        lines.append(
            f"    ! other programs took {server_share(others)} of the server's cores: this"
            " run's req/s is understated (its CPU ms/req is not)"
        )
    if (
        not measurement.shared
        and load.others > 0.05 * load.seconds
        and cpu.server < 0.95 * cpu.seconds
    ):
        lines.append(
            f"    ! the server was not saturated and other programs took"
            f" {load_share(load.others)} of wrk's core: the load generator may have limited"
            " this run's req/s"
        )
    return lines


def _held(profile: Profile) -> str:
    held = 100.0 * profile.samples / profile.ticks
    return (
        f"{profile.samples} samples in {profile.ticks} ticks: a thread held the GIL in {held:.0f}%"
        " of them (the rest: C code without the GIL, such as SQLite and socket I/O, or idle)"
    )


def profile_lines(profile: Profile) -> list[str]:
    out = [f"profile, {profile.title}: {profile.tool}, {profile.how}"]
    if profile.ticks:
        out.append(f"  {_held(profile)}")
    elif profile.samples:
        out.append(f"  {profile.samples} samples")
    out += [f"  note: {note}" for note in profile.notes]
    for title, rows in profile.sections:
        out.append(f"  {title}:")
        out += [f"    {share:5.1f}%  {name}" for name, share in rows]
    return out


def markdown(report: Report, command: str, machine: list[str]) -> str:
    """bench/RESULTS.md: machine, command, the run's output, the targets, the profile."""
    parts = [
        "# Benchmark results",
        "",
        "Written by `python -m bench --results bench/RESULTS.md` from one real run: every",
        "number in the sections it writes was measured in that run, on this machine.",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine],
        "",
        "## Command",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    for target in report.targets():
        verdict = "**FAIL**" if target.failed else target.verdict
        parts.append(f"| {target.name} | {target.measured} | {verdict} |")
    parts += [
        "",
        *_servers_markdown(report),
        "## Output of the run",
        "",
        "```text",
        *report.lines(with_profile=False),
        "```",
        "",
    ]
    for profile in report.profiles:
        parts += _profile_markdown(profile)
    return "\n".join(parts) + "\n"


def _servers_markdown(report: Report) -> list[str]:
    """The servers side by side: the bare app, the peer, ivr on 1 and on 2 workers."""
    bare = report.bare.wrk.rps
    parts = [
        "## Servers side by side",
        "",
        "The ivr rows take the medians of the 18-region rounds; in the 2-worker run wrk shares",
        "the server's 2 cores.",
        "",
        "| server | cores | req/s | p99 ms | req/s per core | CPU ms/req | share of bare |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| bare FastAPI (constant) | 1 | {bare:,.0f} | {report.bare.wrk.p99_ms:.1f} |"
        f" {bare:,.0f} | {report.bare.cpu_ms_per_request:.2f} | 100% |",
    ]
    if isinstance(report.peer, Skipped):
        parts.append(f"| {PEER} | 1 | SKIPPED: {report.peer.reason} | | | | |")
    else:
        peer = report.peer
        parts.append(
            f"| {PEER} (Flask, gunicorn 1 sync worker) | 1 | {peer.wrk.rps:,.0f} |"
            f" {peer.wrk.p99_ms:.1f} | {peer.rps_per_core:,.0f} |"
            f" {peer.cpu_ms_per_request:.2f} | {peer.wrk.rps / bare:.1%} |"
        )
    parts.append(
        f"| ivr mix, 1 worker | 1 | {report.mix_rps:,.0f} | {report.mix_p99_ms:.1f} |"
        f" {report.mix_rps:,.0f} | {report.cpu_ms(report.mix):.2f} |"
        f" {report.share_of_bare:.1%} |"
    )
    two = report.two_workers
    if isinstance(two, Skipped):
        parts.append(f"| ivr mix, 2 workers | 2, shared with wrk | SKIPPED: {two.reason} | | | | |")
    else:
        parts.append(
            f"| ivr mix, 2 workers | 2, shared with wrk | {two.wrk.rps:,.0f} |"
            f" {two.wrk.p99_ms:.1f} | {two.rps_per_core:,.0f} |"
            f" {two.cpu_ms_per_request:.2f} | {two.wrk.rps / bare:.1%} |"
        )
    return [*parts, ""]


def _profile_markdown(profile: Profile) -> list[str]:
    parts = [f"## Profile: {profile.title}", "", f"{profile.tool}, {profile.how}.", ""]
    if profile.ticks:
        parts += [_held(profile) + ".", ""]
    parts += [f"Note: {note}." for note in profile.notes] + ([""] if profile.notes else [])
    for title, rows in profile.sections:
        parts += [f"{title[0].upper()}{title[1:]}:", "", "| share | where |", "|---:|---|"]
        parts += [f"| {share:.1f}% | `{name}` |" for name, share in rows]
        parts.append("")
    return parts
