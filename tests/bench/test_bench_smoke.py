"""The benchmark's building blocks, fast and without timing: its pre-signed requests are
accepted by the real app (never 403), the wrk script carries them all, wrk's summary line is
read, and the generated regions file loads."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from bench.inprocess import bench_settings, replay
from bench.lua import MARK, lua_script
from bench.mix import LINES, build_mix, composition
from bench.regions import write_regions
from bench.wrk import parse_wrk
from ivr.config.regions import load_regions
from ivr.web.app import create_app

pytestmark = [pytest.mark.slow, pytest.mark.infra]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-smoke-token"
PUBLIC_URL = "https://ivr.example.com"


def test_pre_signed_mix_is_accepted_by_the_app(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    requests = build_mix(TOKEN, PUBLIC_URL, calls=2 * len(LINES))
    assert set(composition(requests)) == {
        "incoming",
        "menu",
        "gather-speech",
        "gather-digits",
        "queue-wait",
        "status",
    }
    settings = bench_settings(TOKEN, PUBLIC_URL, ROOT / "regions.toml", ROOT / "prompts", tmp_path)
    app = create_app(settings)
    with caplog.at_level(logging.WARNING):
        # wrk replays the mix round and round: the second pass must be answered alike.
        statuses = asyncio.run(replay(app, requests + requests))
    app.state.services.store.close()
    expected = [204 if r.kind == "status" else 200 for r in requests] * 2
    assert statuses == expected
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    unexpected = ("webhook failed", "bad signature", "refused a call")
    assert not [m for m in failures if any(text in m for text in unexpected)], failures


def test_signatures_are_really_checked(tmp_path: Path) -> None:
    request = build_mix(TOKEN, PUBLIC_URL, calls=1)[0]
    tampered = replace(request, body=request.body.replace("CallStatus=", "CallStatus=x"))
    settings = bench_settings(TOKEN, PUBLIC_URL, ROOT / "regions.toml", ROOT / "prompts", tmp_path)
    app = create_app(settings)
    statuses = asyncio.run(replay(app, [request, tampered]))
    app.state.services.store.close()
    assert statuses == [200, 403]


def test_wrk_script_carries_every_request() -> None:
    requests = build_mix(TOKEN, PUBLIC_URL, calls=6)
    script = lua_script(requests)
    assert script.count('"X-Twilio-Signature"') == len(requests)
    assert all(dict(r.headers)["X-Twilio-Signature"] in script for r in requests)
    assert "request = function()" in script and MARK in script


def test_wrk_summary_line_is_read() -> None:
    stdout = (
        "Running 1s test @ http://127.0.0.1:8000\n"
        f'{MARK} {{"requests":2000,"duration_us":2000000,"bytes":1,"connect_errors":0,'
        '"read_errors":1,"write_errors":0,"status_errors":3,"timeouts":2,"p50_us":1500,'
        '"p90_us":4000,"p99_us":12000,"max_us":20000,"mean_us":1800.5}\n'
    )
    result = parse_wrk(stdout)
    assert result.rps == 1000
    assert (result.p50_ms, result.p99_ms) == (1.5, 12.0)
    assert (result.status_errors, result.socket_errors) == (3, 3)


def test_generated_regions_file_loads(tmp_path: Path) -> None:
    target = tmp_path / "regions.toml"
    assert write_regions(ROOT / "regions.toml", ROOT / "prompts", target, 30) == 30
    book = load_regions(target)
    assert {line.region for line in LINES} <= set(book.regions)


def test_without_wrk_the_bench_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.cli

    monkeypatch.setattr(bench.cli, "wrk_path", lambda: None)
    assert bench.cli.main([]) == 2
    assert "apt-get install -y wrk" in capsys.readouterr().err
