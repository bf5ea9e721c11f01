"""A Firefox ESR participant for the e2e tests: the Node script firefox_client.mjs (puppeteer-core over
WebDriver BiDi) runs the browser; this class starts it, reads the JSON lines it reports and sends it
commands. Playwright cannot drive a stock Firefox, and no registry ships a Linux geckodriver."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

E2E_DIR = Path(__file__).resolve().parent
FIREFOX = "/usr/bin/firefox-esr"
NODE_MODULES = E2E_DIR / "node_modules"
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"


def node_tools_missing() -> str | None:
    """Why the Node-driven browser tests cannot run here, or None (setup.sh --test installs all of it)."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/setup.sh --test installs it)"
    if not Path(FIREFOX).exists():
        return f"{FIREFOX} is missing (scripts/setup.sh --test installs Debian's firefox-esr)"
    if not (NODE_MODULES / "puppeteer-core").is_dir() or not AXE_SCRIPT.exists():
        return "tests/e2e/node_modules is missing: run `npm ci` in tests/e2e (scripts/setup.sh --test does)"
    return None


class FirefoxClient:
    """One Firefox process joining through an invite link; ``expect(event)`` waits for a reported step."""

    def __init__(self, invite_url: str, name: str, *, width: int = 1280, height: int = 800,
                 log_path: Path | None = None) -> None:
        problem = node_tools_missing()
        if problem:
            raise RuntimeError(problem)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.log_path = log_path
        self.process = subprocess.Popen(
            ["node", str(E2E_DIR / "firefox_client.mjs"), f"--url={invite_url}", f"--name={name}",
             f"--width={width}", f"--height={height}"],
            cwd=E2E_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"event": "unparsable", "line": line.rstrip()}
            if event.get("event") in ("console", "page_error"):
                print(f"[firefox] {event}")
            self.events.put(event)
        self.events.put({"event": "eof"})

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line)
            del self._stderr[:-200]

    def expect(self, name: str, *, timeout: float = 90.0) -> dict[str, Any]:
        """The next reported step called ``name``; fails on a reported failure or a dead process."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"Firefox did not report {name!r} within {timeout:.0f} s; saw {self._summary()}")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(event)
            if event["event"] == name:
                return event
            if event["event"] in ("failed", "eof", "command_failed"):
                raise AssertionError(f"Firefox reported {event} while waiting for {name!r}; saw {self._summary()};"
                                     f" stderr: {''.join(self._stderr)[-2000:]}")

    def command(self, line: str, reply: str, *, timeout: float = 60.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.expect(reply, timeout=timeout)

    def stats(self) -> dict[str, Any]:
        return self.command("stats", "stats")

    def screenshot(self, path: Path) -> None:
        self.command(f"shot {path}", "shot")

    def axe(self) -> list[dict[str, Any]]:
        return list(self.command(f"eval-axe {AXE_SCRIPT}", "axe")["violations"])

    def _summary(self) -> list[str]:
        return [e["event"] for e in self.seen][-20:]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("quit", "closed", timeout=20)
            except (AssertionError, OSError):
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
