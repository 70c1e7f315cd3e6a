"""A real `ivr serve --workers 2`: one scrape adds up both workers (prometheus-client's
multiprocess mode, in a directory the command makes and removes), and JSON log lines."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from twilio.request_validator import RequestValidator

from ivr.logs import mask
from tests.support.processes import free_port, until
from tests.support.replicas import IVR, replica_env
from tests.support.repository import ROOT
from tests.support.scrape import BEARER, METRICS_TOKEN, Scrape

pytestmark = pytest.mark.slow  # real `ivr serve --workers 2` processes

TOKEN = "served-auth-token"
BLOCKED = "+8613812345678"
CN_LINE = "+864001234567"
ANSWERED = ("ivr_webhook_responses", "/voice/incoming", "200")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    scratch: Path  # TMPDIR of the service: where it makes its metrics directory

    def post(self, path: str, form: dict[str, str], *, signed: bool = True) -> httpx.Response:
        """A webhook on a connection of its own, so the kernel may hand it to either worker."""
        signature = RequestValidator(TOKEN).compute_signature(f"{self.url}{path}", form)
        headers = {"Connection": "close", "X-Twilio-Signature": signature if signed else "x"}
        return httpx.post(f"{self.url}{path}", data=form, headers=headers, timeout=10)

    def scrape(self) -> Scrape:
        response = httpx.get(f"{self.url}/metrics", headers=BEARER, timeout=10)
        assert response.status_code == 200, response.text
        return Scrape.parse(response.text)

    def metrics_dirs(self) -> list[Path]:
        return sorted(self.scratch.glob("ivr-metrics-*"))

    def log_lines(self) -> list[dict[str, str]]:
        complete = self.log.read_text().split("\n")[:-1]  # the last may be half written
        return [json.loads(line) for line in complete]  # every line is one JSON object


@contextmanager
def serving(home: Path, **settings: str) -> Iterator[Served]:
    """`ivr serve --workers 2` on a free port, JSON logs into home/serve.log; SIGTERM at the end."""
    scratch = home / "tmp"
    scratch.mkdir()
    port = free_port()
    env = replica_env(
        TWILIO_AUTH_TOKEN=TOKEN,
        IVR_METRICS_TOKEN=METRICS_TOKEN,
        IVR_LOG_FORMAT="json",
        IVR_DATABASE_URL=f"sqlite:///{home / 'ivr.sqlite3'}",
        IVR_SPOOL_DIR=str(home / "spool"),
        TMPDIR=str(scratch),
        **settings,
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = home / "serve.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*IVR, "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )
    served = Served(process, f"http://127.0.0.1:{port}", log, scratch)

    def healthy() -> bool:
        assert process.poll() is None, f"ivr serve exited:\n{log.read_text()}"
        try:
            return httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def both_workers_started() -> bool:
        started = [line for line in served.log_lines() if "startup complete" in line["message"]]
        return healthy() and len(started) == 2

    try:
        until(both_workers_started, "both workers of ivr serve --workers 2", limit=90)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("served")
    # No rate limit: the calls below come from one number.
    with serving(home, IVR_BLOCKED_NUMBERS=BLOCKED, IVR_CALLS_PER_CALLER="0") as served:
        yield served


def answered_by_worker(directory: Path) -> Counter[str]:
    """/voice/incoming answers with 200 as each worker's own file holds them, by process id."""
    counts: Counter[str] = Counter()
    for file in directory.glob("counter_*.db"):
        pid = file.stem.removeprefix("counter_")
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(file)):
            metric, _, labels, _ = json.loads(key)
            if (metric, labels.get("route"), labels.get("code")) == ANSWERED:
                counts[pid] += int(value)
    return counts


def test_one_scrape_adds_up_every_worker(served: Served) -> None:
    (directory,) = served.metrics_dirs()
    before = served.scrape().value(
        "ivr_webhook_responses_total", route="/voice/incoming", code="200"
    )
    sent = 0
    with ThreadPoolExecutor(8) as pool:
        # Until both workers have answered some: connections go to whichever accepts first.
        while len(answered_by_worker(directory)) < 2 or sent < 16:
            assert sent < 800, f"one worker took every call: {answered_by_worker(directory)}"
            forms = [
                {"CallSid": f"CA{sent + i:032x}", "From": "+819012345678", "To": "+81345678901"}
                for i in range(16)
            ]
            answers = list(pool.map(lambda form: served.post("/voice/incoming", form), forms))
            assert [answer.status_code for answer in answers] == [200] * 16
            sent += 16
    by_worker = answered_by_worker(directory)
    assert len(by_worker) == 2 and all(by_worker.values())
    for _ in range(4):  # whichever worker answers the scrape, it counts both
        scraped = served.scrape()
        answered = scraped.value("ivr_webhook_responses_total", route="/voice/incoming", code="200")
        assert answered - before == sent
        assert answered == sum(by_worker.values())
        assert (
            scraped.value("ivr_webhook_duration_seconds_count", route="/voice/incoming") == answered
        )


def test_metrics_need_the_token(served: Served) -> None:
    assert httpx.get(f"{served.url}/metrics", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(f"{served.url}/metrics", headers=wrong, timeout=10).status_code == 401


def test_json_log_lines_name_the_call_and_mask_numbers(served: Served) -> None:
    blocked_sid = "CA" + "b" * 32
    refused = served.post(
        "/voice/incoming", {"CallSid": blocked_sid, "From": BLOCKED, "To": CN_LINE}
    )
    assert refused.status_code == 200 and "<Reject" in refused.text
    forged_sid = "CA" + "f" * 32
    forged = {"CallSid": forged_sid, "From": BLOCKED, "To": CN_LINE}
    assert served.post("/voice/incoming", forged, signed=False).status_code == 403
    menu = {"CallSid": "CA" + "e" * 32, "From": BLOCKED, "To": CN_LINE, "Digits": "1"}
    query = "/voice/menu?n=confirm&r=cn&l=en-US&w=pending&d=202603021234"
    assert served.post(query, menu).status_code == 200

    def logged() -> bool:
        return any("d=•••" in line["message"] for line in served.log_lines())

    until(logged, "the access log line of the menu webhook")
    lines = served.log_lines()
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert BLOCKED not in served.log.read_text()
    assert "202603021234" not in served.log.read_text()

    text = f"refused a call from {BLOCKED}: blocked (CallSid {blocked_sid})"
    (refusal,) = [line for line in lines if line["message"].startswith("refused a call")]
    assert refusal["message"] == mask(text)  # exactly as in text mode: +86 ••• ••5678
    assert refusal["call_sid"] == blocked_sid
    assert (refusal["level"], refusal["logger"]) == ("WARNING", "ivr")

    (rejected,) = [line for line in lines if "bad signature" in line["message"]]
    assert "call_sid" not in rejected  # an unsigned request speaks for no call
    startup = [line for line in lines if line["logger"].startswith("uvicorn")]
    assert startup and all("call_sid" not in line for line in startup)


def test_serve_removes_the_metrics_directory_it_made(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        (directory,) = served.metrics_dirs()
        assert served.scrape().value("ivr_webhook_apologies_total", route="/voice/menu") == 0
    assert served.process.returncode == 0
    assert not directory.exists()


def test_serve_refuses_a_metrics_directory_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    env = {**replica_env(), "PROMETHEUS_MULTIPROC_DIR": str(missing)}
    result = subprocess.run(
        [*IVR, "serve", "--port", str(free_port()), "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"PROMETHEUS_MULTIPROC_DIR: '{missing}' is not a directory" in result.stderr
