"""Routing: the session's message effects become frames for the right sockets.

Counselor events go only to outboxes whose server-assigned role is counselor; the outbox itself refuses
a private frame otherwise (a second line of defence). A message is encoded once for all its sockets.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.session.effects import Effect, ToAdmitted, ToCaptionViewers, ToCounselors, ToParticipant, ToSocket
from server.session.model import Session
from server.session.outbox import Outbox
from server.session.protocol.server import CounselorChannel, Frame, encode
from server.session.states import Presence, Role


def deliver(session: Session, effects: Iterable[Effect]) -> list[Effect]:
    """Sends every message effect; returns the others (socket closes, timers, records) in order."""
    rest: list[Effect] = []
    for effect in effects:
        if isinstance(effect, ToParticipant):
            participant = session.participants.get(effect.participant_id)
            outbox = participant.connection if participant is not None else None
            if outbox is not None and outbox.is_open:
                outbox.send(encode(effect.message))
        elif isinstance(effect, ToSocket):
            if effect.outbox.is_open:
                effect.outbox.send(encode(effect.message))
        elif isinstance(effect, ToAdmitted):
            _send_all(_admitted(session), encode(effect.message))
        elif isinstance(effect, ToCaptionViewers):
            _send_all((o for o in _admitted(session) if o.captions_enabled), encode(effect.message))
        elif isinstance(effect, ToCounselors):
            frame = encode(CounselorChannel(event=effect.event))
            _send_all(counselor_outboxes(session), frame)
        else:
            rest.append(effect)
    return rest


def counselor_outboxes(session: Session) -> list[Outbox]:
    """Open outboxes of counselor participants whose socket the server itself marked as counselor."""
    return [
        p.connection
        for p in session.participants.values()
        if p.role is Role.COUNSELOR
        and p.connection is not None
        and p.connection.role is Role.COUNSELOR
        and p.connection.is_open
    ]


def _admitted(session: Session) -> list[Outbox]:
    return [
        p.connection
        for p in session.participants.values()
        if p.presence is Presence.ADMITTED and p.connection is not None and p.connection.is_open
    ]


def _send_all(outboxes: Iterable[Outbox], frame: Frame) -> None:
    for outbox in outboxes:
        outbox.send(frame)
