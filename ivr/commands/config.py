"""The `ivr check`, `ivr graph` and `ivr fallback` commands: the configuration as operators
review it, and the static fallback document made from it."""

from __future__ import annotations

import enum
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ivr.commands import support
from ivr.config.tomlfile import ConfigError

if TYPE_CHECKING:
    from ivr.checks.budgets import LineTimes
    from ivr.config.loading import Config
    from ivr.config.settings import Settings

_AT_HELP = "The instant to check at, ISO 8601 with offset (2026-03-02T10:00+08:00); default now."


def check(
    at: Annotated[str | None, typer.Option(help=_AT_HELP)] = None,
) -> None:
    """Validate regions.toml, the prompts and flows.toml (errors with file and line: exit 1),
    hold every line to the caller-time budgets of flows.toml (a broken one: exit 1), warn
    about what serves callers badly, and show each line's seconds to a person."""
    from ivr.checks.warnings import CheckInput, Kind, run_checks, ways_to_agents
    from ivr.config.tomlfile import load_toml

    settings = support.settings()
    now = _instant(at)
    try:
        config = _load(settings)
        regions_file = load_toml(settings.regions)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    lengths = (settings.reference_min_digits, settings.reference_max_digits)
    inputs = CheckInput(config, now, regions_file, reference_lengths=lengths)
    findings = run_checks(inputs)
    broken = [finding for finding in findings if finding.kind is Kind.BUDGET]
    for finding in findings:
        typer.echo(f"{'budget' if finding.kind is Kind.BUDGET else 'warning'}: {finding}")
    music = _hold_music_warnings(settings, config)
    for warning in music:
        typer.echo(f"warning: {warning}")
    _show_times(ways_to_agents(inputs))
    languages = sorted(config.prompts.languages)
    summary = (
        f"{len(config.regions.regions)} regions, {len(languages)} languages "
        f"({', '.join(languages)}); {len(findings) - len(broken) + len(music)} warnings"
    )
    if broken:
        typer.echo(f"failed: {len(broken)} budgets broken; {summary}")
        raise typer.Exit(1)
    typer.echo(f"ok: {summary}")


def _hold_music_warnings(settings: Settings, config: Config) -> list[str]:
    """What is wrong with IVR_HOLD_MUSIC_URL: it must answer with audio (Twilio plays only
    audio, and a page or a twimlet is an error on the caller's line), and its clip must fit
    each region's time between announcements. The service's own clip needs no check."""
    import httpx

    url, seconds = settings.hold_music_url, settings.hold_music_seconds
    if not url or seconds is None:
        return []
    warnings: list[str] = []
    try:
        with httpx.Client(timeout=5, follow_redirects=True) as client:
            with client.stream("GET", url) as answer:
                status, kind = answer.status_code, answer.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        status, kind = 0, type(exc).__name__
    if status != 200 or not kind.startswith("audio/"):
        got = f"answers {status} {kind}, not audio" if status else f"does not answer ({kind})"
        warnings.append(
            f"IVR_HOLD_MUSIC_URL {url} {got}: Twilio plays only audio (audio/mpeg, "
            "audio/wav...), and callers would hear an error instead of music"
        )
    for region in config.regions.regions.values():
        if seconds > region.queue.announce_every:
            warnings.append(
                f"IVR_HOLD_MUSIC_SECONDS {seconds} is longer than region {region.id}'s "
                f"announce_every ({region.queue.announce_every} s): its callers hear silence"
            )
    return warnings


def _show_times(lines: list[LineTimes]) -> None:
    typer.echo(
        "seconds to a person, keys pressed as soon as they are named: the longest speech no"
        " key can cut short, until the key for a person is named, to the queue, and to the"
        " queue hearing every question to its end"
    )
    typer.echo("  line     lang    keys   wait  person  queue  listening  queue name")
    for times in lines:
        typer.echo(
            f"  {times.region:<8} {times.language:<6}  {' '.join(times.keys):<5}"
            f" {times.without_keys:4.0f}  {times.agent_named:6.0f}  {times.to_queue:5.0f}"
            f"  {times.listening:9.0f}  {times.queue}"
        )


class GraphFormat(enum.StrEnum):
    DOT = "dot"
    MERMAID = "mermaid"
    SVG = "svg"


def graph(
    region: Annotated[str | None, typer.Option(help="Only this region (its id, e.g. jp).")] = None,
    language: Annotated[
        str | None, typer.Option(help="Only this language (e.g. ja-JP); default: every one.")
    ] = None,
    output_format: Annotated[
        GraphFormat, typer.Option("--format", help="Graphviz DOT, Mermaid, or SVG (needs dot).")
    ] = GraphFormat.DOT,
    closed: Annotated[
        bool, typer.Option("--closed", help="Draw the menus as heard while agents are closed.")
    ] = False,
    at: Annotated[
        str | None, typer.Option(help="Draw at this instant instead (ISO 8601 with offset).")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write to this file; default stdout.")] = None,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats",
            help="Add to each question how many callers reached it, were served there and hung"
            " up there, from the call records.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --stats: the calls of this long before now (or --at): 7d, 2w, 24h, 30m;"
            " default 7d."
        ),
    ] = None,
) -> None:
    """Draw the menu tree of each region and language, found by pressing every key in the real
    menus, at the next time agents are open (or closed, with --closed); with --stats, how many
    callers reached, were served at and left each question."""
    from ivr.checks import flow_stats
    from ivr.checks import graph as drawing
    from ivr.checks.menu_walk import MenuWalk, region_walks, when_closed, when_open
    from ivr.store.journeys import path_tallies

    if since is not None and not stats:
        typer.echo("--since: counts calls for --stats; add --stats", err=True)
        raise typer.Exit(2)
    try:
        window = flow_stats.since_duration(since or flow_stats.DEFAULT_SINCE)
    except ValueError as exc:
        typer.echo(f"--since {since!r}: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = support.settings()
    config = _config_or_exit(settings)
    book = config.regions
    regions = _chosen_regions(config, region, language)
    now = _instant(at)
    walks: list[MenuWalk] = []
    for region_id in regions:
        moment = now
        if at is None:
            found = (when_closed if closed else when_open)(book.regions[region_id], now)
            if found is None:
                state = "open" if closed else "closed"
                typer.echo(f"{region_id}: agents are always {state}; drawn as of now", err=True)
            moment = found or now
        walks += region_walks(
            book,
            config.prompts,
            config.flows,
            moment,
            regions=[region_id],
            language=language,
            reference_lengths=(settings.reference_min_digits, settings.reference_max_digits),
        )
    trees = [drawing.tree(walk) for walk in walks]
    if stats:
        with support.migrated_store() as store:
            read = path_tallies(store.engine, now - window, now, regions)
        counts = flow_stats.count_calls(walks, read.tallies)
        trees = [flow_stats.with_counts(one, counts.trees.get(one.name, {})) for one in trees]
        said = flow_stats.summary(counts, trees, now - window, now, every_path=read.complete)
        typer.echo(said, err=True)
    if output_format is GraphFormat.MERMAID:
        _write(drawing.to_mermaid(trees).encode(), output)
        return
    dot = drawing.to_dot(trees)
    if output_format is GraphFormat.DOT:
        _write(dot.encode(), output)
        return
    try:
        _write(drawing.to_svg(dot), output)
    except drawing.GraphvizMissing as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _chosen_regions(config: Config, region: str | None, language: str | None) -> list[str]:
    book = config.regions
    if region is not None and region not in book.regions:
        typer.echo(
            f"--region {region!r}: no such region; known: {', '.join(book.regions)}", err=True
        )
        raise typer.Exit(2)
    regions = [region] if region else list(book.regions)
    if language is not None:
        regions = [r for r in regions if language in book.regions[r].languages]
        if not regions:
            where = f"region {region}" if region else "any region"
            typer.echo(f"--language {language!r}: not offered in {where}", err=True)
            raise typer.Exit(2)
    return regions


def _write(content: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(content)
        typer.echo(f"wrote {output}", err=True)


def _instant(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        typer.echo(
            f"--at {text!r}: give ISO 8601 with a UTC offset, e.g. 2026-03-02T10:00+08:00", err=True
        )
        raise typer.Exit(2)
    return moment


def _load(settings: Settings) -> Config:
    from ivr.config.loading import load_config

    return load_config(settings)


def _config_or_exit(settings: Settings) -> Config:
    try:
        return _load(settings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def fallback() -> None:
    """Print the static fallback document (TwiML) for infra/fallback.xml: sorry, the global
    region's other channels, goodbye; nginx answers it when no replica does."""
    from ivr.web.routes.ops import static_fallback

    try:
        config = _load(support.settings())
    except ConfigError as exc:
        typer.echo(f"cannot build the fallback document:\n{exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(static_fallback(config))
