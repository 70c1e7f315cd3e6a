"""/readyz under probes that overlap (several load balancers, a database slow or silent): each
answers within its bound and tells what it saw, and together they hold one pooled connection at
most, leaving the rest to the webhooks (ivr.web.routes.ops)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ivr.config.settings import Settings
from ivr.emulator.transport import OnLoopback
from ivr.web.app import create_app
from tests.store.test_database import gate, schema
from tests.support.app_client import AppClient
from tests.support.databases import every_connection
from tests.support.processes import until
from tests.support.tcp_gate import TcpGate

__all__ = ["gate", "schema"]  # fixtures, shared with tests/store/test_database.py
SILENT = "not ready: the database did not answer within 1 s (records are spooled meanwhile)"
PROBES, ROUNDS = 10, 4


@pytest.mark.slow
def test_no_free_connection_is_not_ready_and_not_read_as_a_database_that_refuses(
    settings: Settings,
) -> None:
    """The database answers; this replica's webhooks hold every connection. Before, the pool's
    timeout read as a refusing database: "ready (database unavailable: records are spooled)"."""
    client = AppClient(create_app(settings))
    held = every_connection(client.app.state.services.store.engine)
    try:
        answer = client.get("/readyz")
    finally:
        for connection in held:
            connection.close()
        client.close()
    assert (answer.status_code, answer.text) == (
        503,
        "not ready: no database connection was free within 0.5 s",
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_overlapping_probes_of_a_silent_database_share_one_ping_and_say_so_in_time(
    tmp_path: Path, gate: TcpGate, schema: str, settings: Settings
) -> None:
    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:{gate.port}/test?options=-csearch_path%3D{schema}"
    )
    app = create_app(settings.model_copy(update={"database_url": url}))
    engine = app.state.services.store.engine

    async def rounds() -> list[tuple[int, str, int]]:
        """Each probe's status and text, and the connections in use once its round is over."""
        transport = httpx.ASGITransport(app=OnLoopback(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://ivr.test") as client:
            assert (await client.get("/readyz")).text == "ready"
            gate.hold()
            seen = []
            for _ in range(ROUNDS):
                answers = await asyncio.wait_for(
                    asyncio.gather(*(client.get("/readyz") for _ in range(PROBES))), timeout=5
                )
                in_use = engine.pool.checkedout()
                seen += [(answer.status_code, answer.text, in_use) for answer in answers]
                await asyncio.sleep(0.3)
            return seen

    try:
        assert asyncio.run(rounds()) == [(503, SILENT, 1)] * PROBES * ROUNDS
    finally:
        gate.release()
        until(lambda: engine.pool.checkedout() == 0, "the probe's ping to end")
        app.state.services.store.close()
