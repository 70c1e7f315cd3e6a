"""The benchmark's report and its peer, as pure functions: Twilio's sample IVR's wrk mix, its
Python 3 port, the targets (a skipped peer is no failure), the load table's rows, the
scaling section and the load profile's categories. No network, no server, no timing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from bench.lua import lua_script
from bench.mix import FORM, LINES
from bench.peer import (
    PORT,
    URL,
    PeerInstall,
    PeerUnavailable,
    clone_source,
    first_of_each_kind,
    peer_mix,
    port_to_python3,
)
from bench.profiling import CATEGORIES, OTHER, STARTUP_CATEGORIES, category, first_category
from bench.report import (
    FRESH,
    PEER,
    RESTART,
    ColdStart,
    Measurement,
    Report,
    ServerLog,
    Skipped,
    markdown,
)
from bench.servers import CpuUse, LoadSide
from bench.wrk import WrkResult, wrk_command

NO_PEER = "git clone --depth 1 https://github.com/x/y failed (exit 128): Could not resolve host"


def measured(
    name: str, rps: float, p99_ms: float = 10.0, cores: int = 1, shared: bool = False
) -> Measurement:
    requests = int(rps * 10)
    wrk = WrkResult(requests, 10.0, 2.0, 5.0, p99_ms, 40.0, 2.5, 0, 0, ())
    cpu = CpuUse(10.0, 9.5 * cores, 0.5, 0.2, 0.0, cores)
    return Measurement(
        name=name,
        wrk=wrk,
        rss_kib=100_000,
        pid=4242,
        affinity=tuple(range(cores)),
        libraries={"uvloop": True, "httptools": True},
        log=ServerLog(0, 0, 0, 0, 0),
        cpu=cpu,
        load_side=LoadSide(10.0, 1.0, 0.1),
        shared=shared,
        processes=3 if cores > 1 else 1,
    )


def report(peer: Measurement | Skipped, restart_s: float = 0.8, fresh_s: float = 1.2) -> Report:
    return Report(
        header=["ivr webhook benchmark"],
        bare=measured("bare FastAPI (constant)", 2000.0, 5.0),
        mix=[measured("ivr mix, 18 regions #1", 1000.0, 12.0)],
        big=[measured("ivr mix, 500 regions #1", 990.0, 13.0)],
        cold=[
            ColdStart("18 regions, fresh SQLite (migrations run)", (fresh_s,) * 3, FRESH),
            ColdStart("18 regions, migrated SQLite (a restart)", (restart_s,) * 3, RESTART),
            ColdStart("500 regions, fresh SQLite", (1.3,) * 3),
        ],
        peer=peer,
        two_workers=measured("ivr mix, 18 regions, 2 workers", 1700.0, 45.0, cores=2, shared=True),
    )


def verdicts(made: Report) -> dict[str, str]:
    return {target.name: target.verdict for target in made.targets()}


PEER_TARGET = f"mix ahead of {PEER} (req/s)"


def test_peer_mix_is_whole_calls_through_the_sample() -> None:
    requests = peer_mix(calls=200)
    kinds = Counter(r.kind for r in requests)
    assert set(kinds) == {"welcome", "menu 1", "menu 2", "planets"}
    assert kinds["welcome"] == 200  # one per call
    assert kinds["menu 1"] + kinds["menu 2"] == 200
    assert kinds["planets"] == kinds["menu 2"]  # who pressed 2 picks a planet
    assert 0.35 < kinds["menu 1"] / 200 < 0.65
    paths = {r.kind: r.path for r in requests}
    assert paths == {
        "welcome": "/ivr/welcome",
        "menu 1": "/ivr/menu",
        "menu 2": "/ivr/menu",
        "planets": "/ivr/planets",
    }
    for request in requests:
        headers = dict(request.headers)
        assert request.method == "POST" and headers["Content-Type"] == FORM
        assert "X-Twilio-Signature" not in headers  # the sample checks none
        form = {key: values[0] for key, values in parse_qs(request.body).items()}
        assert form["CallSid"].startswith("CA") and form["From"] and form["To"]
        assert form["AccountSid"].startswith("AC")
        expected = {"welcome": None, "menu 1": "1", "menu 2": "2"}.get(request.kind, "")
        if expected is None:
            assert "Digits" not in form
        elif expected:
            assert form["Digits"] == expected
        else:
            assert form["Digits"] in {"2", "3", "4"}
    assert {r.body for r in requests} == {r.body for r in peer_mix(calls=200)}  # seeded
    assert {line.hotline for line in LINES} >= {parse_qs(r.body)["To"][0] for r in requests}


def test_peer_wrk_script_carries_the_mix_and_every_route_is_checked() -> None:
    requests = peer_mix(calls=12)
    script = lua_script(requests)
    assert script.count('"/ivr/welcome"') == 12
    assert script.count('"/ivr/planets"') == sum(r.kind == "planets" for r in requests)
    assert "X-Twilio-Signature" not in script
    assert [r.kind for r in first_of_each_kind(requests)] == list(
        dict.fromkeys(r.kind for r in requests)
    )


def test_the_python3_port_is_one_replacement() -> None:
    old, new = PORT
    views = f"def menu():\n    if {old}:\n        return 1\n"
    assert port_to_python3(views) == f"def menu():\n    if {new}:\n        return 1\n"
    with pytest.raises(PeerUnavailable, match="needs a look"):
        port_to_python3("def menu():\n    return 1\n")


def test_clone_source(tmp_path: Path) -> None:
    assert clone_source(None) == URL
    assert clone_source(str(tmp_path)) == tmp_path.as_uri()  # --depth holds for file://
    assert clone_source("https://example.org/repo.git") == "https://example.org/repo.git"


def test_peer_launch_is_one_sync_gunicorn_worker(tmp_path: Path) -> None:
    install = PeerInstall("file:///x", "a6f5844", tmp_path / "src", tmp_path / "venv", {})
    launch = install.launch(8123, tmp_path, {})
    assert launch.port == 8123 and launch.cwd == tmp_path / "src"
    assert launch.argv[1:] == (
        "-w",
        "1",
        "-k",
        "sync",
        "--no-control-socket",
        "--bind",
        "127.0.0.1:8123",
        "ivr_phone_tree_python:app",
    )
    assert "--access-logfile" not in launch.argv


def test_wrk_on_two_cores() -> None:
    command = wrk_command("http://127.0.0.1:1", Path("mix.lua"), 3.0, 32, (0, 1))
    assert command[:3] == ["taskset", "-c", "0,1"]
    assert wrk_command("http://127.0.0.1:1", Path("mix.lua"), 3.0, 32, 1)[:3] == [
        "taskset",
        "-c",
        "1",
    ]


def test_a_skipped_peer_is_said_plainly_and_fails_nothing() -> None:
    made = report(Skipped(NO_PEER))
    assert verdicts(made)[PEER_TARGET] == "SKIPPED"
    assert not made.failed()
    lines = made.lines()
    assert any(line.startswith(f"  {PEER}") and f"SKIPPED: {NO_PEER}" in line for line in lines)
    assert any(line.startswith("  SKIPPED") and NO_PEER in line for line in lines)
    assert f"  SKIPPED: {NO_PEER}" in lines  # the peer section
    text = markdown(made, "python -m bench", ["CPU: test"])
    assert f"| {PEER_TARGET} | {NO_PEER} | SKIPPED |" in text
    assert f"| {PEER} | 1 | SKIPPED: {NO_PEER} |" in text


def test_a_measured_peer_row_target_and_share_of_bare() -> None:
    made = report(measured(f"{PEER} (Flask)", 400.0, 30.0))
    assert verdicts(made)[PEER_TARGET] == "PASS"
    assert made.peer_share_of_bare == pytest.approx(0.2)
    target = next(t for t in made.targets() if t.name == PEER_TARGET)
    assert target.measured == "x2.50 (1,000 vs 400 req/s; the sample at 20.0% of bare)"
    lines = made.lines()
    row = next(line for line in lines if line.startswith(f"  {PEER} (Flask)"))
    assert row.split()[4:6] == ["400", "2.0"]
    assert any("400 req/s = 20.0% of bare" in line for line in lines)
    assert not made.failed()
    text = markdown(made, "python -m bench", ["CPU: test"])
    assert "| 400 | 30.0 | 400 |" in text and "| 20.0% |" in text
    behind = report(measured(f"{PEER} (Flask)", 1200.0))
    assert verdicts(behind)[PEER_TARGET] == "FAIL" and behind.failed()


def test_two_cold_start_targets() -> None:
    restart = "cold start, migrated database (a restart) < 1.0 s (median)"
    fresh = "cold start, fresh database < 1.5 s (median)"
    assert {restart: "PASS", fresh: "PASS"}.items() <= verdicts(report(Skipped(NO_PEER))).items()
    slow_restart = report(Skipped(NO_PEER), restart_s=1.1, fresh_s=1.2)
    assert (verdicts(slow_restart)[restart], verdicts(slow_restart)[fresh]) == ("FAIL", "PASS")
    slow_fresh = report(Skipped(NO_PEER), restart_s=0.9, fresh_s=1.6)
    assert (verdicts(slow_fresh)[restart], verdicts(slow_fresh)[fresh]) == ("PASS", "FAIL")
    text = markdown(slow_fresh, "python -m bench", ["CPU: test"])
    assert f"| {fresh} | 1.600 s | **FAIL** |" in text
    assert f"| {restart} | 0.900 s | PASS |" in text


def test_scaling_section_one_and_two_workers() -> None:
    lines = report(Skipped(NO_PEER)).lines()
    start = next(i for i, line in enumerate(lines) if line.startswith("scaling:"))
    assert "shared with wrk" in lines[start] and "wrk runs on the server's 2 cores" in lines[start]
    one, two, ratio = lines[start + 2 : start + 5]
    assert one.split()[-4:] == ["1,000", "12.0", "1,000", "0.95"]
    assert two.split()[-4:] == ["1,700", "45.0", "850", "1.12"]
    assert "x1.70 req/s, x0.85 per core" in ratio
    detail = next(line for line in lines if "ivr mix, 18 regions, 2 workers: pid" in line)
    assert "3 processes" in detail
    assert any("its 2 cores (shared with wrk): server 95%, wrk 5%" in line for line in lines)


def test_load_profile_takes_the_innermost_claimed_frame() -> None:
    def stack(*leaf: str) -> list[str]:
        return [
            "run (uvicorn/server.py:68)",
            "run_asgi (uvicorn/protocols/http/httptools_impl.py:409)",
            "__call__ (starlette/middleware/errors.py:164)",
            "__call__ (ivr/web/webhooks.py:175)",
            "__call__ (ivr/web/webhooks.py:130)",
            *leaf,
        ]

    assert category(stack()) == category(stack("helper (ivr/web/boundary.py:40)"))
    assert category(stack()).startswith("web layer")
    twiml = stack("say (ivr/engine/menu.py:80)", "to_xml (twilio/twiml/__init__.py:60)")
    assert category([*twiml, "write (xml/etree/ElementTree.py:700)"]).startswith("TwiML")
    assert category(stack("next (ivr/engine/menu.py:80)")).startswith("menu engine")
    assert category(stack("read_form (ivr/web/signature.py:60)")).startswith("form read")
    signed = stack(
        "read_form (ivr/web/signature.py:60)", "validate (twilio/request_validator.py:9)"
    )
    assert category(signed).startswith("signature check")
    worker = [
        "_bootstrap (threading.py:995)",
        "_worker (concurrent/futures/thread.py:83)",
        "record (ivr/store/journeys.py:50)",
        "execute (sqlalchemy/engine/base.py:1400)",
    ]
    assert category(worker).startswith("database")
    assert category(worker[:2]).startswith("thread-pool")
    assert category(["now (ivr/clock.py:9)", "localize (pytz/tzinfo.py:300)"]).startswith("time")
    assert category(["run (asyncio/runners.py:118)"]) == "asyncio event loop"
    assert category(["(idle)"]) == OTHER
    stale = ("(ivr/twiml.py", "(ivr/params.py", "(ivr/security.py", "(ivr/app.py")
    fragments = [f for rules in (CATEGORIES, STARTUP_CATEGORIES) for _, fs in rules for f in fs]
    assert not [f for f in fragments if any(f.startswith(s) for s in stale)]


def test_startup_phases_keep_the_whole_stack_rule() -> None:
    migration = [
        "serve (ivr/commands/serve.py:90)",
        "create_app (ivr/web/app.py:39)",
        "upgrade (ivr/store/migrate.py:26)",
        "<module> (alembic/op.py:1)",
    ]
    assert first_category(migration, STARTUP_CATEGORIES).startswith("database migration")
    config = ["load_config (ivr/config/loading.py:26)", "<module> (tomllib/_parser.py:1)"]
    assert first_category(config, STARTUP_CATEGORIES).startswith("regions.toml")
