"""`attune serve` as an operator runs it: a real process, over plain HTTP and over HTTPS."""

from __future__ import annotations

import datetime
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def wait_until_up(url: str, context: ssl.SSLContext | None, proc: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as resp:
                return bytes(resp.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError("server did not come up")


def run_server(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "ATTUNE_DATA_DIR": str(tmp_path / "data"), "ATTUNE_CAPTIONS": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, port


def test_serve_over_https_with_cert_and_key(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    proc, port = run_server(tmp_path, "--cert", str(cert), "--key", str(key))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        body = wait_until_up(f"https://localhost:{port}/healthz", context, proc)
        assert body == b"ok"
        # Plain HTTP is not served on the HTTPS port.
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            raise AssertionError("plain HTTP answered on the HTTPS port")
        except OSError:
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (tmp_path / "data" / "attune.key").stat().st_mode & 0o777 == 0o600


def test_bad_setting_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--cert", str(tmp_path / "missing.pem")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--cert and --key" in result.stderr and "Traceback" not in result.stderr


def test_access_log_hides_link_tokens(tmp_path: Path) -> None:
    proc, port = run_server(tmp_path)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", None, proc)
        secret = "SECRETtokenSECRETtokenSECRET"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/join/{secret}", timeout=5)
        except OSError:
            pass
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    log = err.decode()
    assert "/join/" in log and secret not in log


CHATTER = """
import logging, sys
from server.__main__ import configure_logging
configure_logging(sys.argv[1])
logging.getLogger("faster_whisper").info("Processing audio with duration 00:01.500")
logging.getLogger("fontTools.subset").info("maxp pruned")
logging.getLogger("fontTools.ttLib.ttFont").info("Reading 'glyf' table from disk")
logging.getLogger("faster_whisper").warning("a real problem in the model")
logging.getLogger("server.call.signaling").info("session 0123 ended")
"""


def test_library_chatter_stays_out_of_the_log_unless_debug() -> None:
    """faster-whisper's per-decode line and fontTools' subsetting steps stay out at INFO (their warnings
    and the server's own lines stay in), and come back with DEBUG."""

    def log_at(level: str) -> str:
        result = subprocess.run([sys.executable, "-c", CHATTER, level], capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parents[2])
        assert result.returncode == 0, result.stderr
        return result.stderr

    info = log_at("INFO")
    assert "session 0123 ended" in info and "a real problem in the model" in info
    assert "Processing audio with duration" not in info and "fontTools" not in info
    debug = log_at("DEBUG")
    assert "Processing audio with duration" in debug and "maxp pruned" in debug and "Reading 'glyf'" in debug
    warning = log_at("WARNING")
    assert "session 0123 ended" not in warning and "a real problem in the model" in warning
