"""A small real cluster for the failover tests: PostgreSQL, ``attune serve`` instances as processes, and
HAProxy in front with the repository's own deploy/haproxy.cfg (ports replaced)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg

from tests.e2e.flows import COUNSELOR_EMAIL, COUNSELOR_PASSWORD

REPO = Path(__file__).resolve().parents[2]
# The e2e flows log in with this account (tests/e2e/flows.py).
EMAIL = COUNSELOR_EMAIL
PASSWORD = COUNSELOR_PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def instance_env(data_dir: Path, database_url: str, instance: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTUNE_")}
    env.update(
        ATTUNE_DATA_DIR=str(data_dir), ATTUNE_DATABASE_URL=database_url, ATTUNE_INSTANCE_ID=instance,
        ATTUNE_MODEL="default", ATTUNE_DEVICE="cpu", ATTUNE_LANGUAGE="en", ATTUNE_LOG_LEVEL="INFO",
        ATTUNE_RECONNECT_GRACE_S="60",
        # Every instance encrypts and decrypts the same records: one data key for all of them.
        ATTUNE_DATA_KEY="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )
    env.update(extra)
    return env


@dataclass
class Instance:
    name: str
    port: int
    log_path: Path
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        await wait_healthy(self.url, self.process, self.log_path)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):  # it may exit between the two
                    self.process.kill()
                await self.process.wait()


async def wait_healthy(url: str, process: asyncio.subprocess.Process, log_path: Path, tries: int = 400) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(tries):
            if process.returncode is not None:
                tail = (await asyncio.to_thread(log_path.read_text))[-3000:]
                raise AssertionError(f"{url} exited; see {log_path}:\n{tail}")
            try:
                async with http.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"{url} did not come up; see {log_path}")


@dataclass
class Balancer:
    port: int
    backends: list[Instance]
    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> None:
        config = (REPO / "deploy" / "haproxy.cfg").read_text()
        config = config.replace("bind 127.0.0.1:8080", f"bind 127.0.0.1:{self.port}")
        lines = [f"    server {b.name} 127.0.0.1:{b.port}" for b in self.backends]
        config = re.sub(r"(?m)^    server attune-a .*\n    server attune-b .*$", "\n".join(lines), config)
        self.config_path.write_text(config)

    def launch(self) -> None:
        self.write_config()
        checked = subprocess.run(["haproxy", "-c", "-f", str(self.config_path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(["haproxy", "-db", "-f", str(self.config_path)], stdout=log,
                                            stderr=subprocess.STDOUT)

    async def start(self) -> None:
        await asyncio.to_thread(self.launch)
        await self.wait_ready()

    async def wait_ready(self) -> None:
        """Until the balancer has a healthy instance to send requests to (it checks every 0.5 s)."""
        async with aiohttp.ClientSession() as http:
            for _ in range(150):
                try:
                    async with http.get(f"{self.url}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"HAProxy has no healthy instance; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class Cluster:
    database_url: str
    instances: list[Instance]
    balancer: Balancer
    folder: Path
    extra: dict[str, str] = field(default_factory=dict)

    def owner_of(self, session_id: str) -> str | None:
        with psycopg.connect(self.database_url.replace("postgresql+asyncpg://", "postgresql://")) as conn:
            row = conn.execute("select owner from live_sessions where id = %s", (session_id,)).fetchone()
        return None if row is None else row[0]

    def instance(self, name: str) -> Instance:
        return next(i for i in self.instances if i.name == name)


async def create_counselor(database_url: str, data_dir: Path) -> None:
    created = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "create-counselor", EMAIL, "--password-stdin", cwd=REPO,
        env=instance_env(data_dir, database_url, "setup"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = await created.communicate(f"{PASSWORD}\n".encode())
    assert created.returncode == 0, err.decode()
