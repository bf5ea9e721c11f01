"""A crash loses at most the line being spoken: the real server (``python -m server serve``) transcribes a
real recording from an aiortc peer with the real Whisper model, is SIGKILLed once a final line has arrived,
and after a restart on the same data folder the counselor (created with ``attune create-counselor``) logs
in and finds that line in the session record."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCPeerConnection

from tests.conftest import DATA, WsPeer
from tests.integration.test_uplink import start_uplink

REPO = Path(__file__).resolve().parents[2]
JFK = DATA / "jfk" / "jfk.flac"
EMAIL = "crash.test@example.org"
PASSWORD = "crash test passphrase"

pytestmark = pytest.mark.model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTUNE_")}
    env.update(ATTUNE_DATA_DIR=str(data_dir), ATTUNE_MODEL="default", ATTUNE_DEVICE="cpu", ATTUNE_LANGUAGE="en",
               ATTUNE_CPU_THREADS="2", ATTUNE_ASR_WORKERS="1", ATTUNE_LOG_LEVEL="INFO")
    return env


async def _serve(data_dir: Path, port: int, log_path: Path) -> asyncio.subprocess.Process:
    log = log_path.open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port),
        cwd=REPO, env=_env(data_dir), stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError(f"the server exited; see {log_path}")
            try:
                async with http.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    process.kill()
    raise AssertionError(f"the server did not come up; see {log_path}")


async def _login(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(f"{url}/api/login", json={"email": EMAIL, "password": PASSWORD}) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["csrf_token"])


async def test_server_killed_mid_session_keeps_every_final_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "create-counselor", EMAIL, "--password-stdin", cwd=REPO,
        env=_env(data_dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await created.communicate(f"{PASSWORD}\n".encode())
    assert created.returncode == 0, err.decode()
    assert b"created admin counselor account" in out  # the first account is the admin

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    server = await _serve(data_dir, port, log_path)
    pc: RTCPeerConnection | None = None
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            csrf = await _login(http, url)
            async with http.post(f"{url}/api/sessions", headers={"X-CSRF-Token": csrf}) as resp:
                assert resp.status == 201
                session = await resp.json()
            counselor = WsPeer(await http.ws_connect(f"{url}/ws"))
            await counselor.send(type="join", token=session["counselor_url"].rsplit("/", 1)[1], name="Dr. Rivera")
            await counselor.expect("welcome")
            client = WsPeer(await http.ws_connect(f"{url}/ws"))
            await client.send(type="join", token=session["invite_url"].rsplit("/", 1)[1], name="Sam")
            welcome = await client.expect("welcome")
            lobby = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "lobby"
                                           and m["event"]["waiting"])
            await counselor.send(type="admit", participant_id=lobby["event"]["waiting"][0]["participant_id"])
            await client.expect("admitted")
            await client.send(type="consent", granted=True, version=welcome["consent"]["version"])
            await client.expect("consent_recorded")
            pc, _player = await start_uplink(client, JFK)
            line = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "transcript_line", timeout=60)
            spoken = line["event"]["text"]
            assert spoken.strip()
            # Caption events are handled one after another, and a final line's handling ends with its
            # database write: the next caption to arrive proves that write is done. The speaker is still
            # talking (the recording loops), so the kill lands mid-session, mid-line.
            counselor._pending = [m for m in counselor._pending if m.get("type") != "caption"]
            await counselor.expect("caption", timeout=30)
            server.send_signal(signal.SIGKILL)  # no shutdown handlers, no flush: a crash
            await server.wait()
    finally:
        if pc is not None:
            await pc.close()
        if server.returncode is None:
            server.kill()
            await server.wait()

    server = await _serve(data_dir, port, log_path)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await _login(http, url)
            async with http.get(f"{url}/api/records/sessions") as resp:
                [summary] = (await resp.json())["sessions"]
            assert summary["session_id"] == session["session_id"] and summary["ended_at"] is None
            assert {p["name"] for p in summary["participants"]} == {"Dr. Rivera", "Sam"}
            async with http.get(f"{url}/api/records/sessions/{session['session_id']}") as resp:
                record = await resp.json()
            stored = [ln["text"] for ln in record["lines"]]
            assert spoken in stored, (spoken, stored)
            assert all(ln["speaker"] == "Sam" for ln in record["lines"])
    finally:
        server.terminate()
        await server.wait()
