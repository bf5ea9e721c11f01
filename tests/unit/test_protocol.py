"""Message validation: schemas per type, strict fields, data kept byte-exact where it matters."""

from __future__ import annotations

import json

import pytest

from server import protocol as p


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
    with pytest.raises(p.ProtocolError) as err:
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
    with pytest.raises(p.ProtocolError) as err:
        p.parse_client_message(raw)
    assert err.value.code == code
