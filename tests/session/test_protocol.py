"""Message validation: schemas per type, strict fields, data kept byte-exact where it matters."""

from __future__ import annotations

import json

import pytest

from server.session.protocol import client as p
from server.session.protocol.errors import ProtocolError


def test_sdp_keeps_its_final_crlf() -> None:
    sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    signal = {"type": "signal", "to": "p-1", "description": {"type": "offer", "sdp": sdp}}
    msg = p.parse_client_message(json.dumps(signal))
    assert isinstance(msg, p.Signal) and msg.description is not None and msg.description.sdp == sdp
    up = p.parse_client_message(json.dumps({"type": "uplink_offer", "sdp": sdp}))
    assert isinstance(up, p.UplinkOffer) and up.sdp == sdp


def test_typed_text_is_trimmed_before_length_checks() -> None:
    msg = p.parse_client_message(json.dumps({"type": "join", "token": "x" * 20, "name": "  Sam  "}))
    assert isinstance(msg, p.Join) and msg.name == "Sam"
    with pytest.raises(ProtocolError) as err:
        p.parse_client_message(json.dumps({"type": "chat", "text": "   "}))
    assert err.value.code == "bad_message"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"type": "join", "token": "xxxxxxxxxx", "name": "Sam", "role": "counselor"}', "bad_message"),
        ('{"type": "signal", "to": "p-1", "description": {"type": "offer", "sdp": "v=0", "x": 1}}', "bad_message"),
        ('{"type": "cue_mute", "kind": "<script>", "muted": true}', "bad_message"),
        ('{"type": 5}', "bad_message"),
        ("null", "bad_message"),
        ("[" * 10000, "bad_json"),
    ],
)
def test_refusals(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as err:
        p.parse_client_message(raw)
    assert err.value.code == code


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "consent", "granted": "yes", "version": "v1"}',
        '{"type": "consent", "granted": 1, "version": "v1"}',
        '{"type": "media_state", "audio": "false", "video": true}',
        '{"type": "admit", "participant_id": 12345}',
    ],
)
def test_types_are_not_coerced(raw: str) -> None:
    with pytest.raises(ProtocolError) as err:
        p.parse_client_message(raw)
    assert err.value.code == "bad_message"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"type": "net_quality", "level": "good", "rtt_ms": ' + "9" * 4301 + "}", "bad_json"),
        ('{"type": "chat", "text": "\\ud800"}', "bad_json"),
        ('{"type": "join", "token": "xxxxxxxxxx", "name": "Sam\\u0000"}', "bad_message"),
        ('{"type": "chat", "text": ' + "[" * 5000 + "]" * 5000 + "}", "bad_json"),
        ('{"type": "signal", "to": "p-1", "candidate": {"candidate": "c", "sdpMLineIndex": 9999999999}}',
         "bad_message"),
    ],
)
def test_hostile_frames_get_a_clear_error(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as err:
        p.parse_client_message(raw)
    assert err.value.code == code


def test_a_float_field_takes_a_json_integer() -> None:
    msg = p.parse_client_message('{"type": "net_quality", "level": "good", "rtt_ms": 40}')
    assert isinstance(msg, p.NetQuality) and msg.rtt_ms == 40.0
