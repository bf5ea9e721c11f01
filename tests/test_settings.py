"""Settings: environment variables read once, CLI flags win, bad values fail with the variable named."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from server.settings import SettingsError, add_cli_arguments, apply_cli_overrides, settings_from_env


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_use_the_bundled_model_on_cpu() -> None:
    s = settings_from_env({})
    assert (s.host, s.port, s.asr.model, s.asr.device, s.asr.language) == ("127.0.0.1", 8080, "default", "cpu", "en")
    assert s.ice_servers == () and s.captions is True
    assert s.resolved_database_url.startswith("sqlite+aiosqlite:///")


def test_environment_then_cli_overrides(tmp_path: Path) -> None:
    env = {
        "ATTUNE_PORT": "9000",
        "ATTUNE_MODEL": "base.en",
        "ATTUNE_ICE_SERVERS": '[{"urls": "stun:stun.example.org:3478"}]',
        "ATTUNE_DATA_DIR": str(tmp_path),
        "ATTUNE_LANGUAGE": "de",
        "ATTUNE_CAPTIONS": "off",
    }
    s = settings_from_env(env)
    assert s.port == 9000 and s.asr.model == "base.en" and s.asr.language == "de" and not s.captions
    assert s.ice_servers == ({"urls": "stun:stun.example.org:3478"},)
    s2 = apply_cli_overrides(s, parse(["--port", "9100", "--model", "/models/small", "--device", "cuda"]))
    assert (s2.port, s2.asr.model, s2.asr.device, s2.asr.language) == (9100, "/models/small", "cuda", "de")


def test_caption_capacity_from_environment_and_cli() -> None:
    assert settings_from_env({}).caption_capacity == 12
    s = settings_from_env({"ATTUNE_CAPTION_CAPACITY": "5"})
    assert s.caption_capacity == 5
    assert apply_cli_overrides(s, parse(["--caption-capacity", "3"])).caption_capacity == 3


def test_partial_batching_is_off_by_default_and_set_from_environment_and_cli() -> None:
    from server.live.engine import asr_settings

    assert settings_from_env({}).asr.max_batch == 1
    s = settings_from_env({"ATTUNE_ASR_MAX_BATCH": "4"})
    assert s.asr.max_batch == 4 and asr_settings(s).max_batch == 4
    assert asr_settings(apply_cli_overrides(s, parse(["--asr-max-batch", "2"]))).max_batch == 2


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ATTUNE_PORT": "eighty"}, "ATTUNE_PORT"),
        ({"ATTUNE_ICE_SERVERS": "stun:x"}, "ATTUNE_ICE_SERVERS"),
        ({"ATTUNE_ICE_SERVERS": '[{"url": "stun:x"}]'}, "ATTUNE_ICE_SERVERS"),
        ({"ATTUNE_CERT": "/nonexistent.pem"}, "--cert and --key"),
        ({"ATTUNE_DEVICE": "tpu"}, "ATTUNE_DEVICE"),
        ({"ATTUNE_MAX_PARTICIPANTS": "12"}, "ATTUNE_MAX_PARTICIPANTS"),
        ({"ATTUNE_CAPTION_CAPACITY": "0"}, "ATTUNE_CAPTION_CAPACITY"),
        ({"ATTUNE_CAPTION_CAPACITY": "many"}, "ATTUNE_CAPTION_CAPACITY"),
        ({"ATTUNE_ASR_MAX_BATCH": "0"}, "ATTUNE_ASR_MAX_BATCH"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        settings_from_env(env)
