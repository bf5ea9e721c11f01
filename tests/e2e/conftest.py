"""End-to-end fixtures: the real server as a subprocess and Debian's Chromium with fake media devices.

Each participant gets its own browser process, because the fake camera and microphone files are
per process: the client's microphone plays a real recording and each camera a real talking face.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from .flows import COUNSELOR_EMAIL, COUNSELOR_PASSWORD
from .media import face_then_empty_y4m, joined_wav, to_wav, to_y4m

# expect() has its own 5 s default; on a loaded 2-core CI machine a page step can take longer (these are
# not timing tests: bounds that matter are asserted explicitly).
expect.set_options(timeout=15_000)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

# Which recording each persona's fake devices play (the files loop).
PERSONAS: dict[str, tuple[Path, Path]] = {
    "counselor": (DATA / "librispeech_samples" / "1089-134691-0001.flac", DATA / "grid_av_faces" / "swiz3n.mpg"),
    "client": (DATA / "jfk" / "jfk.flac", DATA / "grid_av_faces" / "bbaf2n.mpg"),
    "client2": (DATA / "librispeech_samples" / "2412-153948-0000.flac", DATA / "grid_av_faces" / "lwbsza.mpg"),
}

AWAY_FACE_S, AWAY_EMPTY_S = 6.0, 5.0

# A client who says one whole sentence after another (LJ Speech, one reader; each file one sentence), with
# a breath between them: what the transcript's sentence rows and the exports are tested on.
SENTENCE_CLIPS = [DATA / "ljspeech_subset" / "wavs" / f"LJ001-{n}.flac" for n in ("0009", "0017", "0025")]
SENTENCE_PAUSE_S = 1.2

# Records the type (and counselor event kind) of every WebSocket message a page receives, before any
# page script runs, so a test can prove what a page was never sent.
WS_RECORDER = """
(() => {
  const seen = [];
  Object.defineProperty(window, '__wsSeen', { value: seen });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        try {
          const m = JSON.parse(event.data);
          seen.push({ type: m.type, kind: m.event ? m.event.kind : m.kind, code: m.code, at: Date.now() });
        } catch (e) { seen.push({ type: 'unparsable' }); }
      });
    }
  };
})();
"""


@dataclass(frozen=True, slots=True)
class ServerHandle:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    counselor_email: str = COUNSELOR_EMAIL
    counselor_password: str = COUNSELOR_PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("fake-media")
    out: dict[str, tuple[Path, Path]] = {}
    for persona, (audio, video) in PERSONAS.items():
        out[persona] = (to_wav(audio, folder / f"{persona}.wav"), to_y4m(video, folder / f"{persona}.y4m"))
    # A client who leaves the camera's view now and then: the face for 6 s, nobody for 5 s, looped.
    out["client_away"] = (out["client"][0], face_then_empty_y4m(
        PERSONAS["client"][1], folder / "client_away.y4m", face_s=AWAY_FACE_S, empty_s=AWAY_EMPTY_S))
    out["client_sentences"] = (joined_wav(SENTENCE_CLIPS, folder / "client_sentences.wav", pause_s=SENTENCE_PAUSE_S),
                               out["client"][1])
    return out


@pytest.fixture(scope="package")
def attune_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    data_dir = tmp_path_factory.mktemp("attune-data")
    port = _free_port()
    env = {
        **os.environ,
        "ATTUNE_DATA_DIR": str(data_dir),
        "ATTUNE_RECONNECT_GRACE_S": "30",
        "ATTUNE_LOG_LEVEL": "INFO",
        # the browsers share the two cores with the server: shed by capacity only (bench.load measures load)
        "ATTUNE_CAPTION_SHED_WHEN_BEHIND": "0",
        # Spelled out so the server never falls back on defaults that differ between machines.
        "ATTUNE_MODEL": "default",
        "ATTUNE_DEVICE": "cpu",
        "ATTUNE_COMPUTE_TYPE": "default",
        "ATTUNE_LANGUAGE": "en",
        "ATTUNE_CPU_THREADS": "2",
        "ATTUNE_ASR_WORKERS": "1",
        "ATTUNE_BEAM_SIZE": "1",
    }
    env.pop("ATTUNE_ICE_SERVERS", None)
    log_path = data_dir / "server.log"
    subprocess.run(
        [sys.executable, "-m", "server", "create-counselor", COUNSELOR_EMAIL, "--password-stdin",
         "--data-dir", str(data_dir)],
        cwd=REPO, env=env, input=f"{COUNSELOR_PASSWORD}\n".encode(), check=True, capture_output=True,
    )
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the server did not answer /healthz:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    yield ServerHandle(url, process, log_path)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# Package scope: the sync driver runs an event loop in this thread, which must be gone before the
# asyncio tests in other folders start.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


BrowserFactory = Callable[..., Page]


@pytest.fixture
def open_browser(
    playwright_driver: Playwright, media_files: dict[str, tuple[Path, Path]], attune_server: ServerHandle
) -> Iterator[BrowserFactory]:
    """``open_browser(persona, width=1280, height=800)`` -> a page in a fresh Chromium process."""
    browsers: list[Browser] = []

    def launch(persona: str, *, width: int = 1280, height: int = 800) -> Page:
        wav, y4m = media_files[persona]
        browser = playwright_driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                f"--use-file-for-fake-video-capture={y4m}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        browsers.append(browser)
        context = browser.new_context(
            base_url=attune_server.url, viewport={"width": width, "height": height},
            permissions=["camera", "microphone", "clipboard-read", "clipboard-write"],
        )
        context.add_init_script(WS_RECORDER)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda error, persona=persona: print(f"[{persona}] page error: {error}"))
        page.on("console", lambda msg, persona=persona: (
            print(f"[{persona}] console {msg.type}: {msg.text}") if msg.type in ("error", "warning") else None))
        return page

    yield launch
    for browser in browsers:
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
