"""Regions and prompts reloaded into a running `ivr serve` (SIGHUP, IVR_RELOAD=watch), and a
broken edit refused while the running menus go on."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ivr.config.loading import Config
from ivr.config.reload import ConfigReloader
from ivr.config.settings import Settings
from ivr.web.app import create_app
from ivr.web.services import Services
from tests.support.console import shown_in_order
from tests.support.docs import block
from tests.support.processes import free_port, until
from tests.support.replicas import IVR, Replica, replica, replica_env
from tests.support.repository import ROOT

UK_CALLER, UK_LINE = "+447400123456", "+442079460123"
OLD_TITLE = 'title = "Main menu."'
NEW_TITLE = 'title = "Main menu, as edited."'
UK_LANGUAGES = 'timezone = "Europe/London"\nlanguages = ["en-GB"]\n'
_CALLS = itertools.count(1)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the sample regions.toml, flows.toml and prompts/ that the test edits under the
    server."""
    shutil.copy(ROOT / "regions.toml", tmp_path / "regions.toml")
    shutil.copy(ROOT / "flows.toml", tmp_path / "flows.toml")
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts")
    return tmp_path


def server_env(config_dir: Path, **settings: str) -> dict[str, str]:
    return replica_env(
        IVR_REGIONS=str(config_dir / "regions.toml"),
        IVR_PROMPTS=str(config_dir / "prompts"),
        IVR_FLOWS=str(config_dir / "flows.toml"),
        IVR_DATABASE_URL=f"sqlite:///{config_dir / 'ivr.sqlite3'}",
        IVR_SPOOL_DIR=str(config_dir / "spool"),
        IVR_CALLS_PER_CALLER="0",  # the tests call often from one number
        **settings,
    )


def serving(config_dir: Path, **settings: str) -> Iterator[Replica]:
    with replica(server_env(config_dir, **settings), config_dir / "serve.log") as served:
        until(served.healthy, "ivr serve to answer /healthz")
        yield served


@pytest.fixture
def server(config_dir: Path) -> Iterator[Replica]:
    yield from serving(config_dir)


@pytest.fixture
def watching_server(config_dir: Path) -> Iterator[Replica]:
    yield from serving(config_dir, IVR_RELOAD="watch")


def heard_by_a_uk_caller(served: Replica) -> str:
    """The TwiML a UK caller gets on ringing in: the welcome and the main menu."""
    form = {
        "CallSid": f"CA{next(_CALLS):032x}",
        "From": UK_CALLER,
        "To": UK_LINE,
        "CallStatus": "ringing",
    }
    response = httpx.post(f"{served.url}/voice/incoming", data=form, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def logged(served: Replica, text: str) -> bool:
    return text in served.log.read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
def test_sighup_reloads_an_edited_prompt_without_a_restart(
    server: Replica, config_dir: Path
) -> None:
    assert '<Say language="en-GB" voice="Polly.Amy">Main menu.</Say>' in heard_by_a_uk_caller(
        server
    )
    pid = server.process.pid
    edit(config_dir / "prompts" / "en-GB" / "main.toml", OLD_TITLE, NEW_TITLE)
    server.signal(signal.SIGHUP)
    until(lambda: "Main menu, as edited." in heard_by_a_uk_caller(server), "the new title")
    assert server.process.pid == pid and server.process.poll() is None
    assert logged(server, "configuration reloaded (SIGHUP): 18 regions, 16 languages")


@pytest.mark.slow
def test_sighup_refuses_a_broken_file_and_keeps_serving_the_old_menus(
    server: Replica, config_dir: Path
) -> None:
    regions = config_dir / "regions.toml"
    edit(config_dir / "prompts" / "en-GB" / "main.toml", OLD_TITLE, NEW_TITLE)
    edit(regions, 'timezone = "Europe/London"', 'timezone = "Europe/Londn"')
    line = 1 + regions.read_text().split('"Europe/Londn"')[0].count("\n")
    server.signal(signal.SIGHUP)
    reason = f"{regions}:{line}: regions.gb.timezone: unknown timezone 'Europe/Londn'"
    until(lambda: logged(server, reason), "the refusal in the log")
    assert logged(server, "configuration not reloaded (SIGHUP); the running one is kept")
    # Nothing of the new files is used, not even the prompt that was fine.
    heard = heard_by_a_uk_caller(server)
    assert ">Main menu.</Say>" in heard and "as edited" not in heard
    # Fixed, the next SIGHUP takes both files.
    edit(regions, 'timezone = "Europe/Londn"', 'timezone = "Europe/London"')
    server.signal(signal.SIGHUP)
    until(lambda: "Main menu, as edited." in heard_by_a_uk_caller(server), "the new title")


@pytest.mark.slow
def test_the_log_lines_the_docs_show_for_a_refused_then_a_clean_reload(
    server: Replica, config_dir: Path
) -> None:
    regions = config_dir / "regions.toml"
    edit(regions, 'timezone = "Asia/Tokyo"', 'timezone = "Asia/Tokio"')
    server.signal(signal.SIGHUP)
    until(lambda: logged(server, "unknown timezone 'Asia/Tokio'"), "the refusal")
    edit(regions, 'timezone = "Asia/Tokio"', 'timezone = "Asia/Tokyo"')
    server.signal(signal.SIGHUP)
    until(lambda: logged(server, "configuration reloaded (SIGHUP)"), "the reload")
    shown = block("console", "2026-12-01 23:20:05,947 ERROR ivr: configuration not reloaded")
    printed = server.log.read_text(encoding="utf-8").replace(f"{config_dir}/", "")
    assert shown_in_order(shown.splitlines(), printed.splitlines()), printed


@pytest.mark.slow
def test_watch_reloads_an_edited_region_and_refuses_a_broken_one(
    watching_server: Replica, config_dir: Path
) -> None:
    regions = config_dir / "regions.toml"
    assert "/voice/menu" in heard_by_a_uk_caller(watching_server)
    # A second language on the UK line: callers now choose one first.
    edit(regions, UK_LANGUAGES, UK_LANGUAGES.replace('"en-GB"]', '"en-GB", "de-DE"]'))
    until(lambda: "n=lang" in heard_by_a_uk_caller(watching_server), "the language menu")
    assert logged(watching_server, "configuration reloaded (files changed)")
    edit(regions, '"en-GB", "de-DE"]', '"en-GB", "xx-XX"]')
    until(lambda: logged(watching_server, "unknown language 'xx-XX'"), "the refusal")
    assert "n=lang" in heard_by_a_uk_caller(watching_server)
    assert "Für Deutsch" in heard_by_a_uk_caller(watching_server)


@pytest.mark.slow
def test_watch_reloads_an_edited_flow_and_refuses_one_with_a_key_used_twice(
    watching_server: Replica, config_dir: Path
) -> None:
    flows = config_dir / "flows.toml"
    pending = '{ key = "4", to = "pending", say = "main.pending" }'
    assert "To cancel or change a pending transaction, press 4" in heard_by_a_uk_caller(
        watching_server
    )
    edit(flows, pending, pending.replace('"4"', '"5"'))
    until(
        lambda: "pending transaction, press 5" in heard_by_a_uk_caller(watching_server),
        "the moved option",
    )
    edit(flows, pending.replace('"4"', '"5"'), pending.replace('"4"', '"1"'))
    line = 1 + flows.read_text().split(pending.replace('"4"', '"1"'))[0].count("\n")
    until(lambda: logged(watching_server, f"{flows}:{line}: "), "the refusal")
    assert logged(watching_server, "key '1' is used twice")
    assert "pending transaction, press 5" in heard_by_a_uk_caller(watching_server)


@pytest.mark.slow
def test_several_workers_keep_the_old_menus_on_a_broken_edit_and_watch_reloads_each(
    config_dir: Path,
) -> None:
    # With several workers SIGHUP reaches uvicorn's supervisor, which starts new workers that
    # load the files: one that cannot never replaces a running worker. IVR_RELOAD=watch
    # reloads inside each worker.
    port = free_port()
    env = server_env(config_dir, IVR_RELOAD="watch")
    log = config_dir / "serve.log"
    command = [*IVR, "serve", "--port", str(port), "--workers", "2"]
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    served = Replica(process, port, log)
    try:
        until(served.healthy, "ivr serve to answer /healthz", limit=60)
        regions = config_dir / "regions.toml"
        edit(config_dir / "prompts" / "en-GB" / "main.toml", OLD_TITLE, NEW_TITLE)
        edit(regions, 'timezone = "Europe/London"', 'timezone = "Europe/Londn"')
        served.signal(signal.SIGHUP)
        until(lambda: logged(served, "aborting the restart"), "uvicorn to keep its workers")
        assert logged(served, "regions.gb.timezone: unknown timezone 'Europe/Londn'")
        until(lambda: logged(served, "configuration not reloaded (files changed)"), "watch")
        for _ in range(6):  # whichever worker answers
            assert ">Main menu.</Say>" in heard_by_a_uk_caller(served)
        edit(regions, 'timezone = "Europe/Londn"', 'timezone = "Europe/London"')
        until(lambda: logged(served, "configuration reloaded (files changed)"), "a reload")
        until(
            lambda: all("as edited" in heard_by_a_uk_caller(served) for _ in range(6)),
            "every worker to serve the new menus",
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_in_process_a_sighup_swaps_the_whole_configuration_object(
    config_dir: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    here = settings.model_copy(
        update={"regions": config_dir / "regions.toml", "prompts": config_dir / "prompts"}
    )
    services: Services = create_app(here).state.services
    first = services.config

    async def hang_up_and_wait(reloader: ConfigReloader, before: Config) -> None:
        os.kill(os.getpid(), signal.SIGHUP)  # the real signal, to this process
        while services.config is before and not reloader_refused(caplog):
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        reloader = ConfigReloader(services).start()
        try:
            edit(config_dir / "regions.toml", "Europe/London", "Europe/Londn")
            await hang_up_and_wait(reloader, first)
            assert services.config is first  # refused: the very same object serves on
            edit(config_dir / "regions.toml", "Europe/Londn", "Europe/London")
            edit(config_dir / "prompts" / "en-GB" / "main.toml", OLD_TITLE, NEW_TITLE)
            caplog.clear()
            await hang_up_and_wait(reloader, first)
        finally:
            await reloader.stop()

    with caplog.at_level(logging.INFO, logger="ivr"):
        asyncio.run(scenario())
    services.store.close()
    assert services.config is not first
    main = services.config.prompts.entries["en-GB"]["main.title"]
    assert main.value == "Main menu, as edited."
    assert first.prompts.entries["en-GB"]["main.title"].value == "Main menu."


def reloader_refused(caplog: pytest.LogCaptureFixture) -> bool:
    return any("configuration not reloaded" in record.getMessage() for record in caplog.records)
