"""A live session survives its server restarting, cleanly and with kill -9: PostgreSQL, one ``attune serve``
behind HAProxy, an aiortc counselor and client sending real speech. After each restart the same links
work, both come back as themselves with their resume keys (no waiting room, no second consent), the
uplink is offered again and captions resume; a session nobody returns to is ended after the grace period
and its record gets its end time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port, fresh_postgres_database
from tests.failover.cluster import EMAIL, PASSWORD, Balancer, Cluster, Instance, create_counselor, instance_env
from tests.failover.speakers import first_caption, reconnect, start_speaker

pytestmark = pytest.mark.model

GRACE_S = 8


@pytest.fixture
async def single(tmp_path: Path, postgres_server: str) -> AsyncIterator[Cluster]:
    database_url = fresh_postgres_database(postgres_server)
    await create_counselor(database_url, tmp_path / "setup")
    env = instance_env(tmp_path / "a", database_url, "attune-a", ATTUNE_RECONNECT_GRACE_S=str(GRACE_S))
    instance = Instance("attune-a", free_port(), tmp_path / "a.log", env)
    balancer = Balancer(free_port(), [instance], tmp_path / "haproxy.cfg", tmp_path / "haproxy.log")
    await instance.start()
    await balancer.start()
    try:
        yield Cluster(database_url, [instance], balancer, tmp_path)
    finally:
        balancer.stop()
        await instance.stop()


async def test_a_session_outlives_a_clean_restart_and_a_kill(single: Cluster) -> None:
    base = single.balancer.url
    instance = single.instances[0]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{base}/api/login", json={"email": EMAIL, "password": PASSWORD}) as resp:
            csrf = (await resp.json())["csrf_token"]
        talking = await start_speaker(http, base, csrf)
        forgotten = await start_speaker(http, base, csrf)  # nobody comes back to this one
        try:
            await talking.uplink()
            assert talking.counselor is not None
            await first_caption(talking.counselor, timeout=60)

            for how in ("clean", "kill -9"):
                if how == "clean":
                    await instance.stop()
                else:
                    instance.kill()
                await talking.close()
                await instance.start()
                await single.balancer.wait_ready()
                for path in (f"/host/{talking.counselor_token}", f"/join/{talking.invite_token}"):
                    async with http.get(f"{base}{path}") as page:
                        assert page.status == 200, (how, path)
                await reconnect(talking, http)  # same participants, admitted, consent kept (asserted inside)
                assert talking.counselor is not None
                await first_caption(talking.counselor, timeout=30)

            # The forgotten session: ended after the grace period, with its end time and everyone's.
            ended = None
            for _ in range(int(GRACE_S * 4) + 40):
                async with http.get(f"{base}/api/records/sessions/{forgotten.session_id}") as resp:
                    record = await resp.json()
                if record["ended_at"] is not None and all(p["left_at"] for p in record["participants"]):
                    ended = record
                    break
                await asyncio.sleep(0.5)
            assert ended is not None, "the session nobody came back to was never ended"
            assert all(p["left_at"] is not None for p in ended["participants"])
            async with http.get(f"{base}/join/{forgotten.invite_token}") as page:
                assert page.status == 410
            # The live one is still live.
            async with http.get(f"{base}/api/records/sessions/{talking.session_id}") as resp:
                assert (await resp.json())["ended_at"] is None
        finally:
            await talking.close()
            await forgotten.close()
