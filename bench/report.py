"""What one run found: the numbers, the targets next to them (PASS/FAIL), the profile, and the
same as Markdown for bench/RESULTS.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.profiling import Profile
from bench.servers import CpuUse, LoadSide
from bench.wrk import WrkResult

# The targets, as the issue states them.
MIN_SHARE_OF_BARE = 0.50
MAX_P99_MS = 15.0
MAX_COLD_START_S = 1.0
MAX_REGION_COST_RATIO = 1.05
MAX_RSS_MB = 150.0


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
    log: ServerLog
    cpu: CpuUse
    load_side: LoadSide

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU time per answered request (all threads), in ms: what a request costs,
        whatever else ran on the core."""
        return 1000.0 * self.cpu.server / self.wrk.requests if self.wrk.requests else 0.0


@dataclass(frozen=True)
class ColdStart:
    label: str
    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    passed: bool


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

    @property
    def mix_rps(self) -> float:
        return _median([m.wrk.rps for m in self.mix])

    @property
    def mix_p99_ms(self) -> float:
        return _median([m.wrk.p99_ms for m in self.mix])

    @property
    def share_of_bare(self) -> float:
        return self.mix_rps / self.bare.wrk.rps

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
        cold = self.cold[0]
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
            Target(
                f"cold start < {MAX_COLD_START_S:g} s (median)",
                f"{cold.median:.3f} s",
                cold.median < MAX_COLD_START_S,
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
        return not all(target.passed for target in self.targets())

    def lines(self, with_profile: bool = True) -> list[str]:
        out = list(self.header)
        runs = [self.bare, *[m for pair in zip(self.mix, self.big, strict=True) for m in pair]]
        out += [
            "",
            "load (wrk -c 32 -t 1 --latency; a warm-up run first, not counted; the ivr rounds"
            " alternate between the two regions files, the targets take their medians)",
            f"  {'':<30}{'req/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}"
            f"{'requests':>9}{'non-2xx':>8}{'sockerr':>8}{'CPU ms/req':>11}{'(sys)':>6}"
            f"{'RSS MB':>7}",
        ]
        for measurement in runs:
            w, cpu = measurement.wrk, measurement.cpu
            system = 1000.0 * cpu.system / w.requests if w.requests else 0.0
            out.append(
                f"  {measurement.name:<30}{w.rps:>8,.0f}{w.p50_ms:>8.1f}{w.p90_ms:>8.1f}"
                f"{w.p99_ms:>8.1f}{w.max_ms:>8.1f}{w.requests:>9,}{w.status_errors:>8}"
                f"{w.socket_errors:>8}{measurement.cpu_ms_per_request:>11.2f}{system:>6.2f}"
                f"{measurement.rss_kib * 1024 / 1e6:>7.1f}"
            )
        out.append("")
        for measurement in runs:
            out += _run_lines(measurement)
        out += [
            "  (webhook failures: the error boundary answered with its apology; refused calls:"
            " <Reject> by the screening (blocklist, calls per caller); ClientDisconnect:"
            " requests still queued in the server when wrk closed its connections at the end of"
            " a run, logged by uvicorn as an ASGI exception)",
            "",
            "cold start (spawn `ivr serve` -> first signed /voice/incoming answered 200)",
        ]
        for cold in self.cold:
            times = ", ".join(f"{s:.3f}" for s in cold.seconds)
            out.append(f"  {cold.label:<44} median {cold.median:.3f} s   ({times})")
        out += ["", "targets"]
        for target in self.targets():
            verdict = "PASS" if target.passed else "FAIL"
            out.append(f"  {verdict}  {target.name:<52} {target.measured}")
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


def _run_lines(measurement: Measurement) -> list[str]:
    """Where a run ran, who else used its cores, and what the server logged."""
    libs = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in measurement.libraries.items())
    log, cpu, load = measurement.log, measurement.cpu, measurement.load_side

    def server_share(seconds: float) -> str:
        return f"{100 * seconds / cpu.seconds:.0f}%"

    def load_share(seconds: float) -> str:
        return f"{100 * seconds / load.seconds:.0f}%"

    lines = [
        f"  {measurement.name}: pid {measurement.pid}, cores {list(measurement.affinity)}, {libs}",
        f"    in the measured run, its core: server {server_share(cpu.server)}, others"
        f" {server_share(cpu.others)}, steal {server_share(cpu.steal)}; wrk's core: wrk"
        f" {load_share(load.wrk)}, others {load_share(load.others)}",
        f"    log: {log.webhook_failures} webhook failures, {log.bad_signatures} bad"
        f" signatures, {log.refused_calls} refused calls, {log.asgi_exceptions} ASGI exceptions"
        f" ({log.client_disconnects} of them ClientDisconnect)",
    ]
    if cpu.others > 0.05 * cpu.seconds:
        lines.append(
            f"    ! other programs took {server_share(cpu.others)} of the server's core: this"
            " run's req/s is understated (its CPU ms/req is not)"
        )
    if load.others > 0.05 * load.seconds and cpu.server < 0.95 * cpu.seconds:
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
        verdict = "PASS" if target.passed else "**FAIL**"
        parts.append(f"| {target.name} | {target.measured} | {verdict} |")
    parts += [
        "",
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
