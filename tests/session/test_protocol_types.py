"""The rule "counselor-only data never reaches a client" holds by type: counselor events are not public
messages, the routing types say so, the documentation is generated from the same models, and the type
checker refuses code that sends a counselor event to a client."""

from __future__ import annotations

import dataclasses
import textwrap
import typing
from pathlib import Path

from mypy import api as mypy_api

from server.session import effects
from server.session.protocol import docs
from server.session.protocol.counselor import COUNSELOR_EVENTS, CounselorEvent, CounselorEventUnion, MutedKinds
from server.session.protocol.server import PUBLIC_MESSAGES, CounselorChannel, Pong, PublicMessage, encode

REPO = Path(__file__).resolve().parents[2]


def test_counselor_events_and_public_messages_never_mix() -> None:
    assert set(typing.get_args(CounselorEventUnion)) == set(COUNSELOR_EVENTS)
    for event in COUNSELOR_EVENTS:
        assert issubclass(event, CounselorEvent) and not issubclass(event, PublicMessage)
    for message in PUBLIC_MESSAGES:
        assert issubclass(message, PublicMessage) and not issubclass(message, CounselorEvent)
    assert not issubclass(CounselorChannel, PublicMessage)
    every_public_subclass = {m for m in _subclasses(PublicMessage)}
    assert every_public_subclass == set(PUBLIC_MESSAGES), "a message type is missing from PUBLIC_MESSAGES"
    assert {m for m in _subclasses(CounselorEvent)} == set(COUNSELOR_EVENTS)


def test_the_routing_types_keep_private_events_on_the_counselor_route() -> None:
    hints = {
        cls: typing.get_type_hints(cls)
        for cls in (effects.ToParticipant, effects.ToAdmitted, effects.ToSocket, effects.ToCaptionViewers)
    }
    for cls, fields in hints.items():
        message = fields["message"]
        assert message is PublicMessage or (isinstance(message, type) and issubclass(message, PublicMessage)), cls
    assert {f.name for f in dataclasses.fields(effects.ToCounselors)} == {"event"}


def test_an_encoded_counselor_event_is_marked_private() -> None:
    frame = encode(CounselorChannel(event=MutedKinds(kinds=["voice.pace"])))
    assert frame.private and '"type":"counselor"' in frame.text
    assert not encode(Pong()).private


def test_the_type_checker_refuses_a_counselor_event_typed_for_a_client(tmp_path: Path) -> None:
    snippet = tmp_path / "leak.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from server.session.effects import ToAdmitted, ToParticipant
            from server.session.protocol.counselor import MutedKinds
            from server.session.protocol.server import CounselorChannel

            ToParticipant("p-1", CounselorChannel(event=MutedKinds(kinds=[])))
            ToAdmitted(MutedKinds(kinds=[]))
            """
        )
    )
    out, _, status = mypy_api.run(
        ["--config-file", str(REPO / "pyproject.toml"), "--follow-imports=silent", "--no-incremental", str(snippet)]
    )
    assert status == 1, out
    assert out.count('incompatible type "CounselorChannel"') == 1, out
    assert out.count('incompatible type "MutedKinds"') == 1, out


def test_protocol_doc_is_generated_from_the_models() -> None:
    document = docs.DOC.read_text(encoding="utf-8")
    assert list(docs.stale_blocks(document, docs.render_blocks())) == [], (
        "docs/protocol.md is stale: run python -m server.session.protocol.docs"
    )


def _subclasses(base: type) -> set[type]:
    found: set[type] = set()
    for sub in base.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found
