"""infra/prometheus: the alert rules checked and unit-tested by promtool (Debian's
`prometheus` package; .ci/run installs it), and the example scrape configuration."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app_client import AppClient
from tests.support.processes import INFRA, need
from tests.support.scrape import BEARER

pytestmark = [pytest.mark.slow, pytest.mark.infra]

PROMETHEUS = INFRA / "prometheus"
RULES = PROMETHEUS / "alerts.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    return need("promtool", "apt-get install prometheus; .ci/run installs it")


def run(promtool: str, *args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def alert_names() -> set[str]:
    return set(re.findall(r"^\s+- alert: (\w+)", RULES.read_text(), flags=re.MULTILINE))


def test_promtool_accepts_the_alert_rules(promtool: str) -> None:
    result = run(promtool, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in result.stdout


def test_each_alert_fires_on_its_sample_series_and_only_there(promtool: str) -> None:
    result = run(promtool, "test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    tests = (PROMETHEUS / "alerts.test.yml").read_text()
    alerts = alert_names()
    tested = set(re.findall(r"alertname: (\w+)", tests))
    assert alerts == tested
    assert alerts >= {
        "IvrLongQueueWaits",
        "IvrHighAbandonment",
        "IvrWebhookErrors",
        "IvrSignatureFailureBurst",
        "IvrWallboardSignInFailures",
        "IvrAgentPinGuessing",
    }
    # Every rule is also tested where it must stay silent.
    silent = re.findall(r"alertname: (\w+)\n\s+exp_alerts: \[\]", tests)
    assert set(silent) == alerts


def test_promtool_accepts_the_example_scrape_configuration(promtool: str, tmp_path: Path) -> None:
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "ivr-metrics-token").write_text("a-token\n")
    result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


SAMPLES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def test_the_rules_use_only_metrics_the_service_exports(metered_client: AppClient) -> None:
    text = metered_client.get("/metrics", headers=BEARER).text
    exported = {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SAMPLES.get(family.type, ("",))
    }
    used = set(re.findall(r"\bivr_[a-z_]+", RULES.read_text()))
    assert used and used <= exported, used - exported
