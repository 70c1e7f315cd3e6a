"""The `ivr` command as an operator runs it: call, check, serve (real processes where it matters)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ivr.commands.main import cli
from tests.support.docs import block
from tests.support.repository import ROOT

IVR = [sys.executable, "-m", "ivr.commands.main"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IVR, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_"))}
    return {**env, **extra}


# -- ivr call, in-process -------------------------------------------------------------------
@pytest.mark.slow
def test_call_prints_a_readable_transcript() -> None:
    result = CliRunner().invoke(
        cli, ["call", "+81312345678", "--at", "2026-03-02T10:00+09:00", "--press", "2 1"]
    )
    assert result.exit_code == 0, result.output
    assert "IVR [Polly.Mizuki, ja-JP]: 日本語をご希望の方は、1を押してください。" in result.output
    assert "Caller presses 2" in result.output
    assert "IVR [Polly.Joanna, en-US]: Here's how to reset a forgotten password." in result.output
    assert "call ended: completed" in result.output


@pytest.mark.slow
def test_call_json_is_the_documented_event_list() -> None:
    args = ["call", "+8613812345678", "--at", "2026-03-02T10:00+08:00", "--press", "1 0", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)
    says = [e for e in events if e["type"] == "say"]
    assert says[0]["text"] == "普通话服务，请按1。" and says[0]["voice"] == "Polly.Zhiyu"
    assert {"t", "at", "call", "type"} <= set(events[0])
    assert any(e["type"] == "enqueue" and e["queue"] == "cn-zh-CN" for e in events)
    assert events[-1]["type"] == "status"


@pytest.mark.slow
def test_call_with_an_agent_shows_the_bridge() -> None:
    args = [
        "call",
        "+12025550188",
        "--at",
        "2026-03-02T10:00-05:00",
        "--press",
        "1 0",
        "--agent-after",
        "90",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Connecting you to an agent now." in result.output
    assert "Thank you for calling. Goodbye." in result.output


def test_call_refuses_at_over_http() -> None:
    result = CliRunner().invoke(
        cli,
        ["call", "+81312345678", "--url", "http://127.0.0.1:9/", "--at", "2026-03-02T10:00+09:00"],
    )
    assert result.exit_code == 2
    assert "--at works in-process only" in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--url", "/voice/incoming"), "--url '/voice/incoming': give a full http(s) URL"),
        (("--status-url", "http://127.0.0.1:9/voice/status"), "describe the app at --url"),
        (("--method", "GET"), "describe the app at --url"),
        (("--method", "PUT"), "'PUT' is not one of"),
        (
            ("--url", "http://127.0.0.1:9/voice/incoming", "--status-url", "voice/status"),
            "--status-url 'voice/status': give a full http(s) URL",
        ),
        (
            ("--url", "http://127.0.0.1:9/ivr/welcome", "--agent-after", "30"),
            "--agent-after works with this IVR only: its voice URL ends in /voice/incoming",
        ),
    ],
)
def test_call_refuses_options_that_do_not_describe_one_voice_url(
    options: tuple[str, ...], message: str
) -> None:
    result = CliRunner().invoke(cli, ["call", "+81312345678", *options])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.slow
def test_call_speech_with_spaces_is_quoted() -> None:
    args = [
        "call",
        "+447700900123",
        "--at",
        "2026-03-02T10:00+00:00",
        "--press",
        '_ "say:I forgot my password"',  # the welcome listens for keys only
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert 'Caller says "I forgot my password"' in result.output
    assert "IVR [Polly.Amy, en-GB]: Here's how to reset a forgotten password." in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--at", "tomorrow"], "--at 'tomorrow': give ISO 8601 with a UTC offset"),
        (["--at", "2026-03-02T10:00"], "--at '2026-03-02T10:00': give ISO 8601 with a UTC offset"),
        (["--press", "1 x"], "--press: answer 'x'"),
        (["--press", '"say:unfinished'], "--press: No closing quotation"),
    ],
)
def test_call_refuses_bad_options_with_status_2(options: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["call", "+447700900123", *options])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.slow
def test_interactive_call_on_a_terminal() -> None:
    env = clean_env(PYTHONUNBUFFERED="1")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the operator's terminal runs `ivr call`
        os.chdir(ROOT)
        os.execve(
            sys.executable, [*IVR, "call", "+447700900123", "--at", "2026-03-02T10:00+00:00"], env
        )
    screen = read_until(fd, "] > ")
    assert "IVR [Polly.Amy, en-GB]: To speak to an adviser at any time, press 0." in screen
    os.write(fd, b"_\n")  # silence: the welcome goes on to the main menu
    screen = read_until(fd, "] > ")
    assert "IVR [Polly.Amy, en-GB]: If you've forgotten your password, press 1" in screen
    os.write(fd, b"1\n")
    screen = read_until(fd, "] > ")
    assert "Caller presses 1" in screen
    assert "IVR [Polly.Amy, en-GB]: Here's how to reset a forgotten password." in screen
    os.write(fd, b"\x04")  # Ctrl-D: the caller hangs up
    screen = read_until(fd, "call ended")
    assert "Caller hangs up" in screen
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def read_until(fd: int, marker: str, limit: float = 60.0) -> str:
    seen = b""
    deadline = time.monotonic() + limit
    while marker.encode() not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in:\n{seen.decode(errors='replace')}"
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.audio
def test_call_renders_audio(tmp_path: Path) -> None:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are not installed")
    wav = tmp_path / "call.wav"
    result = CliRunner().invoke(
        cli,
        [
            "call",
            "+447700900123",
            "--at",
            "2026-03-02T10:00+00:00",
            "--press",
            "1",
            "--audio",
            str(wav),
        ],
    )
    assert result.exit_code == 0, result.output
    seconds = float(
        subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout
    )
    assert seconds > 30


# -- ivr check and the refusal to start -----------------------------------------------------
BROKEN = '[regions.global]\nname = "World"\ntimezone = "Mars/Olympus"\nlanguages = ["en-US"]\nemail = "a@example.com"\nchat_url = "https://x.example.com"\n'


@pytest.mark.slow
def test_check_passes_on_the_sample_configuration() -> None:
    result = run("check", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "ok: 18 regions, 16 languages" in result.stdout


@pytest.mark.slow
def test_check_names_file_line_and_reason(tmp_path: Path) -> None:
    broken = tmp_path / "regions.toml"
    broken.write_text(BROKEN, encoding="utf-8")
    result = run("check", env=clean_env(IVR_REGIONS=str(broken)))
    assert result.returncode == 1
    assert f"{broken}:3: regions.global.timezone: unknown timezone 'Mars/Olympus'" in result.stderr


@pytest.mark.slow
def test_serve_refuses_a_broken_configuration(tmp_path: Path) -> None:
    broken = tmp_path / "regions.toml"
    broken.write_text(BROKEN, encoding="utf-8")
    result = run("serve", "--port", str(free_port()), env=clean_env(IVR_REGIONS=str(broken)))
    assert result.returncode == 2
    assert "refusing to start" in result.stderr and f"{broken}:3:" in result.stderr


@pytest.mark.slow
def test_serve_refuses_a_flow_with_a_key_used_twice(tmp_path: Path) -> None:
    flows = tmp_path / "flows.toml"
    sample = (ROOT / "flows.toml").read_text(encoding="utf-8")
    twice = '{ key = "1", to = "pending", say = "main.pending" }'
    flows.write_text(sample.replace(twice.replace('"1"', '"4"'), twice), encoding="utf-8")
    line = 1 + flows.read_text(encoding="utf-8").split(twice)[0].count("\n")
    result = run("serve", "--port", str(free_port()), env=clean_env(IVR_FLOWS=str(flows)))
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert f"{flows}:{line}: flows.standard.nodes.main: key '1' is used twice" in result.stderr


@pytest.mark.slow
def test_serve_refuses_bad_settings() -> None:
    result = run("serve", env=clean_env(IVR_PUBLIC_URL="ftp://nowhere"))
    assert result.returncode == 2
    assert "IVR_PUBLIC_URL" in result.stderr


@pytest.mark.slow
def test_serve_with_dispatch_refuses_to_start_without_twilio_credentials(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    result = run(
        "serve", "--dispatch", "--port", str(free_port()), env=clean_env(IVR_DATABASE_URL=database)
    )
    assert result.returncode == 2
    assert (
        "cannot dispatch callbacks: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.stderr
    )


# -- ivr serve and ivr call over real HTTP --------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """`ivr serve` in its own process, with signatures checked against its public URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(
        TWILIO_AUTH_TOKEN="http-token",
        IVR_PUBLIC_URL=base,
        IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'served.sqlite3'}",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        command = [*IVR, "serve", "--port", str(port)]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(base, process, log)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_until_serving(
    base: str, process: subprocess.Popen[bytes], log: Path, limit: float = 30.0
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"ivr serve did not answer /healthz in time:\n{log.read_text()}")


@pytest.mark.slow
def test_call_over_http_against_ivr_serve(server_url: str) -> None:
    result = run(
        "call",
        "+447700900123",
        "--url",
        f"{server_url}/voice/incoming",
        "--status-url",
        f"{server_url}/voice/status",
        "--press",
        "2 #",
        env=clean_env(TWILIO_AUTH_TOKEN="http-token"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"-> POST {server_url}/voice/incoming (voice) 200" in result.stdout
    assert "Turn on two-step verification" in result.stdout
    assert f"-> POST {server_url}/voice/status (status-callback) 204" in result.stdout


@pytest.mark.slow
def test_call_over_http_with_the_wrong_token_is_refused(server_url: str) -> None:
    url = f"{server_url}/voice/incoming"
    result = run("call", "+447700900123", "--url", url, env=clean_env(TWILIO_AUTH_TOKEN="wrong"))
    assert result.returncode == 1
    assert "403" in result.stdout and "11200" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("options", "logged"), [((), True), (("--no-access-log",), False)])
def test_serve_logs_each_request_unless_told_not_to(
    tmp_path: Path, options: tuple[str, ...], logged: bool
) -> None:
    from tests.support.processes import until
    from tests.support.replicas import replica, replica_env

    env = replica_env(
        IVR_DATABASE_URL=f"sqlite:///{tmp_path / 'ivr.sqlite3'}", IVR_SPOOL_DIR=str(tmp_path)
    )
    with replica(env, tmp_path / "serve.log", options=options) as served:
        until(served.healthy, "ivr serve")
        assert httpx.get(f"{served.url}/readyz", timeout=5).status_code == 200
    log = (tmp_path / "serve.log").read_text()
    assert "Application startup complete" in log
    assert ('"GET /readyz HTTP/1.1" 200' in log) is logged


def test_the_synopsis_in_the_docs_names_every_option_of_ivr_call() -> None:
    import typer.main

    synopsis = block("text", "ivr call FROM [")
    call = typer.main.get_command(cli).commands["call"]  # type: ignore[attr-defined]
    options = {
        name
        for param in call.params
        for name in param.opts
        if name.startswith("--") and name != "--help"
    }
    assert set(re.findall(r"--[a-z-]+", synopsis)) == options
