"""The WebSocket endpoint: validates every message (``server.protocol``), decides what the sender may do
from the role the server gave it, and relays peer-to-peer signaling. Media is not handled here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from server import protocol as p
from server.consent import CLIENT_CONSENT, COUNSELOR_CONSENT
from server.live import LiveAnalysis
from server.pages import base_url
from server.records import Recorder
from server.sessions import (
    Connection,
    Participant,
    Presence,
    Role,
    Session,
    SessionRegistry,
    TokenProblem,
    now_utc,
)
from server.settings import Settings
from server.uplink import UplinkError, UplinkManager

log = logging.getLogger(__name__)


class TokenBucket:
    """Per-socket flood control: a browser that sends faster than this gets ``rate_limited`` errors."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Signaling:
    def __init__(
        self,
        settings: Settings,
        registry: SessionRegistry,
        uplinks: UplinkManager,
        recorder: Recorder,
        live: LiveAnalysis,
    ) -> None:
        self.settings = settings
        self.live = live
        self.registry = registry
        self.uplinks = uplinks
        self.recorder = recorder
        self.sockets: set[web.WebSocketResponse] = set()
        self._handlers: dict[type[Any], Callable[[Connection, Any], Awaitable[None]]] = {
            p.Consent: self._consent,
            p.Admit: self._admit,
            p.Decline: self._decline,
            p.Signal: self._signal,
            p.UplinkOffer: self._uplink_offer,
            p.UplinkStop: self._uplink_stop,
            p.MediaState: self._media_state,
            p.NetQuality: self._net_quality,
            p.Chat: self._chat,
            p.Captions: self._captions,
            p.CueMute: self._cue_mute,
            p.Leave: self._leave,
            p.EndSession: self._end_session,
            p.Subscribe: self._subscribe,
        }

    # --- socket lifecycle ---------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=self.settings.ws_max_message_bytes, heartbeat=20.0)
        await ws.prepare(request)
        conn = Connection(ws, request.remote or "?")
        conn.base_url = base_url(request)
        conn.start()
        self.sockets.add(ws)
        bucket = TokenBucket(self.settings.ws_messages_per_second, self.settings.ws_message_burst)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    if not bucket.take():
                        conn.send(p.ProtocolError("rate_limited", "Too many messages; slow down.").to_message())
                        continue
                    await self.dispatch(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    refusal = p.ProtocolError("bad_message", "Binary frames are not part of the protocol.")
                    conn.send(refusal.to_message())
                elif msg.type is WSMsgType.ERROR:
                    log.info("socket error on %s: %s", conn.label, ws.exception())
                    break
        finally:
            self.sockets.discard(ws)
            await self._disconnected(conn)
            await conn.close()
        return ws

    async def dispatch(self, conn: Connection, raw: str) -> None:
        try:
            message = p.parse_client_message(raw)
            if isinstance(message, p.Ping):
                conn.send({"type": "pong"})
            elif isinstance(message, p.Join):
                await self._join(conn, message)
            elif conn.participant is None:
                raise p.ProtocolError("not_joined", "Send 'join' first.", ref=message.type)
            else:
                await self._handlers[type(message)](conn, message)
        except p.ProtocolError as exc:
            conn.send(exc.to_message())
        except Exception:
            # A bug must not take the session down: the sender gets an error, everyone else carries on.
            log.exception("unexpected failure handling a message on %s", conn.label)
            conn.send({"type": "error", "code": "internal", "message": "Something went wrong on the server."})

    async def _disconnected(self, conn: Connection) -> None:
        participant, session = conn.participant, conn.session
        if participant is None or session is None or participant.connection is not conn:
            return
        participant.connection = None
        if session.ended or participant.presence in (Presence.LEFT, Presence.DECLINED):
            return
        # A dropped socket is not a goodbye: hold the place for a grace period so a reload or a
        # network blip rejoins the same participant, and show "reconnecting" to the others.
        if participant.presence is Presence.ADMITTED:
            participant.presence = Presence.RECONNECTING
        log.info("session %s participant %s disconnected; holding their place", session.id, participant.id)
        participant.grace_task = self.registry.spawn(
            self._expire_after_grace(session, participant), name=f"grace {participant.id}"
        )
        session.send_roster()
        session.send_lobby()

    async def _expire_after_grace(self, session: Session, participant: Participant) -> None:
        await asyncio.sleep(self.settings.reconnect_grace_s)
        if participant.connection is None and not session.ended:
            participant.grace_task = None
            await self._depart(session, participant, "did not come back")

    async def _depart(self, session: Session, participant: Participant, reason: str) -> None:
        participant.presence = Presence.LEFT
        await self.uplinks.close(session, participant, reason)
        session.send_roster()
        session.send_lobby()
        session.send_consent_state()
        await self.recorder.participant_left(session, participant)

    # --- join ---------------------------------------------------------------------------------
    async def _join(self, conn: Connection, msg: p.Join) -> None:
        if conn.participant is not None:
            raise p.ProtocolError("already_joined", "This connection has already joined.", ref="join")
        try:
            session, role = self.registry.resolve(msg.token)
        except TokenProblem as problem:
            conn.send({"type": "error", "code": problem.code, "message": problem.message, "ref": "join"})
            await conn.close(WSCloseCode.POLICY_VIOLATION, problem.code)
            return
        participant = self._rejoining(session, role, msg.resume_key)
        if participant is None:
            if role is Role.CLIENT and session.clients_taking_a_place() >= self.settings.max_participants - 1:
                problem = self.registry.full_problem()
                conn.send({"type": "error", "code": problem.code, "message": problem.message, "ref": "join"})
                await conn.close(WSCloseCode.POLICY_VIOLATION, problem.code)
                return
            participant = session.new_participant(role, msg.name)
            await self.recorder.participant_joined(session, participant)
            log.info("session %s: %s %s joined", session.id, role.value, participant.id)
        else:
            if participant.grace_task is not None:
                participant.grace_task.cancel()
                participant.grace_task = None
            old = participant.connection
            if old is not None and old is not conn:
                old.participant = None  # its close must not mark the participant as gone
                old.send({"type": "error", "code": "replaced", "message": "You joined from another window."})
                self.registry.spawn(old.close(WSCloseCode.POLICY_VIOLATION, "replaced"), name="close replaced")
            if participant.presence is Presence.RECONNECTING:
                participant.presence = Presence.ADMITTED
            log.info("session %s: participant %s rejoined", session.id, participant.id)
        participant.epoch += 1
        participant.connection = conn
        conn.participant, conn.session, conn.role = participant, session, role
        consent = COUNSELOR_CONSENT if role is Role.COUNSELOR else CLIENT_CONSENT
        conn.send(
            {
                "type": "welcome",
                "you": {"participant_id": participant.id, "role": role.value, "name": participant.name},
                "session": {
                    "session_id": session.id,
                    "title": session.title,
                    **({"invite_url": conn.base_url + session.invite_path} if role is Role.COUNSELOR else {}),
                },
                "resume_key": participant.resume_key,
                "ice_servers": list(self.settings.ice_servers),
                "consent": {
                    "version": consent.version,
                    "title": consent.title,
                    "text": consent.text,
                    "state": participant.consent.value,
                },
                "state": "waiting" if participant.presence is Presence.WAITING else "admitted",
                "captions_available": self.settings.captions,
            }
        )
        if participant.presence is Presence.WAITING:
            conn.send({"type": "waiting"})
        else:
            session.send_roster()
        session.send_lobby()
        session.send_consent_state()

    @staticmethod
    def _rejoining(session: Session, role: Role, resume_key: str | None) -> Participant | None:
        if resume_key:
            participant = session.find_by_resume_key(resume_key)
            if (
                participant is not None
                and participant.role is role
                and participant.presence not in (Presence.LEFT, Presence.DECLINED)
            ):
                return participant
        if role is Role.COUNSELOR:
            # The counselor link is the counselor's identity: opening it again is the same person.
            return session.counselor()
        return None

    # --- handlers -----------------------------------------------------------------------------
    @staticmethod
    def _require_counselor(conn: Connection, ref: str) -> tuple[Session, Participant]:
        if conn.role is not Role.COUNSELOR:
            raise p.ProtocolError("forbidden", "Only the counselor can do that.", ref=ref)
        assert conn.session is not None and conn.participant is not None
        return conn.session, conn.participant

    @staticmethod
    def _require_admitted(conn: Connection, ref: str) -> tuple[Session, Participant]:
        assert conn.session is not None and conn.participant is not None
        if conn.participant.presence is not Presence.ADMITTED:
            raise p.ProtocolError("not_admitted", "Please wait until the counselor lets you in.", ref=ref)
        return conn.session, conn.participant

    async def _consent(self, conn: Connection, msg: p.Consent) -> None:
        assert conn.session is not None and conn.participant is not None
        session, participant = conn.session, conn.participant
        expected = COUNSELOR_CONSENT if participant.role is Role.COUNSELOR else CLIENT_CONSENT
        if msg.granted and msg.version != expected.version:
            raise p.ProtocolError(
                "bad_message", "That consent text is out of date; please reload the page and read it again.",
                ref="consent",
            )
        decision = session.record_consent(participant, msg.granted, msg.version)
        if not msg.granted:
            # Withdrawal is immediate: the peer is closed and queued audio is discarded unheard.
            if await self.uplinks.close(session, participant, "consent withdrawn", flush=False):
                conn.send({"type": "uplink_closed", "reason": "consent_withdrawn"})
        conn.send({"type": "consent_recorded", "state": decision.state.value, "version": decision.version})
        session.send_consent_state()
        await self.recorder.consent(session, decision)

    async def _admit(self, conn: Connection, msg: p.Admit) -> None:
        session, _ = self._require_counselor(conn, "admit")
        target = session.participants.get(msg.participant_id)
        if target is None or target.presence is not Presence.WAITING:
            raise p.ProtocolError("unknown_peer", "That person is not in the waiting room.", ref="admit")
        target.presence = Presence.ADMITTED
        log.info("session %s: participant %s admitted", session.id, target.id)
        if target.connection is not None:
            target.connection.send({"type": "admitted"})
        session.send_roster()
        session.send_lobby()
        session.send_consent_state()

    async def _decline(self, conn: Connection, msg: p.Decline) -> None:
        session, _ = self._require_counselor(conn, "decline")
        target = session.participants.get(msg.participant_id)
        if target is None or target.presence is not Presence.WAITING:
            raise p.ProtocolError("unknown_peer", "That person is not in the waiting room.", ref="decline")
        target.presence = Presence.DECLINED
        if target.grace_task is not None:
            target.grace_task.cancel()
        log.info("session %s: participant %s declined", session.id, target.id)
        target_conn = target.connection
        target.connection = None
        if target_conn is not None:
            target_conn.send({"type": "declined"})
            target_conn.participant = None
            self.registry.spawn(target_conn.close(WSCloseCode.OK, "declined"), name="close declined")
        session.send_lobby()

    async def _signal(self, conn: Connection, msg: p.Signal) -> None:
        session, sender = self._require_admitted(conn, "signal")
        target = session.participants.get(msg.to)
        if (
            target is None
            or target is sender
            or target.presence is not Presence.ADMITTED
            or target.connection is None
        ):
            raise p.ProtocolError("unknown_peer", "That participant is not connected.", ref="signal")
        out: dict[str, Any] = {"type": "signal", "from": sender.id}
        if msg.description is not None:
            out["description"] = msg.description.model_dump()
        if msg.candidate is not None:
            out["candidate"] = msg.candidate.model_dump()
        target.connection.send(out)

    async def _uplink_offer(self, conn: Connection, msg: p.UplinkOffer) -> None:
        session, participant = self._require_admitted(conn, "uplink_offer")
        if not participant.analysis_allowed:
            raise p.ProtocolError("no_consent", "Captions and cues need your consent first.", ref="uplink_offer")
        try:
            answer = await self.uplinks.open(session, participant, msg.sdp)
        except UplinkError as exc:
            raise p.ProtocolError("uplink_failed", f"The analysis connection could not start: {exc}.",
                                  ref="uplink_offer") from exc
        # Consent may have been withdrawn while the answer was being made.
        if not participant.analysis_allowed:
            await self.uplinks.close(session, participant, "consent withdrawn", flush=False)
            raise p.ProtocolError("no_consent", "Consent was withdrawn.", ref="uplink_offer")
        conn.send({"type": "uplink_answer", "sdp": answer})

    async def _uplink_stop(self, conn: Connection, msg: p.UplinkStop) -> None:
        assert conn.session is not None and conn.participant is not None
        if await self.uplinks.close(conn.session, conn.participant, "stopped by participant"):
            conn.send({"type": "uplink_closed", "reason": "stopped"})

    async def _media_state(self, conn: Connection, msg: p.MediaState) -> None:
        session, participant = self._require_admitted(conn, "media_state")
        participant.audio, participant.video = msg.audio, msg.video
        session.send_roster()

    async def _net_quality(self, conn: Connection, msg: p.NetQuality) -> None:
        session, participant = self._require_admitted(conn, "net_quality")
        new = {"level": msg.level, "rtt_ms": msg.rtt_ms, "loss_pct": msg.loss_pct}
        changed = participant.net is None or participant.net.get("level") != msg.level
        participant.net = new
        if changed:
            session.send_roster()

    async def _chat(self, conn: Connection, msg: p.Chat) -> None:
        session, participant = self._require_admitted(conn, "chat")
        session.broadcast_admitted(
            {
                "type": "chat",
                "from": participant.id,
                "name": participant.name,
                "text": msg.text,
                "at": now_utc().isoformat(),
            }
        )

    async def _captions(self, conn: Connection, msg: p.Captions) -> None:
        conn.captions_enabled = msg.enabled

    async def _cue_mute(self, conn: Connection, msg: p.CueMute) -> None:
        session, _ = self._require_counselor(conn, "cue_mute")
        cues = self.live.session_cues(session)
        cues.mute(msg.kind, msg.muted)
        # Urgent alerts are never muted: the hint policy lets them through whatever is muted here.
        session.send_to_counselors({"kind": "muted_kinds", "kinds": sorted(cues.hints.muted_kinds)})

    async def _leave(self, conn: Connection, msg: p.Leave) -> None:
        assert conn.session is not None and conn.participant is not None
        session, participant = conn.session, conn.participant
        if participant.role is Role.COUNSELOR:
            # The counselor leaving without ending keeps the session open: they can come back.
            participant.presence = Presence.RECONNECTING
            participant.connection = None
            conn.participant = None
            await self.uplinks.close(session, participant, "counselor stepped out")
            session.send_roster()
        else:
            participant.connection = None
            conn.participant = None
            await self._depart(session, participant, "left")
        await conn.close(WSCloseCode.OK, "left")

    async def _end_session(self, conn: Connection, msg: p.EndSession) -> None:
        session, _ = self._require_counselor(conn, "end_session")
        await self.end_session(session, "ended_by_counselor")

    async def end_session(self, session: Session, reason: str) -> None:
        if session.ended:
            return
        self.registry.end(session)
        # Everyone hears of the end at once; flushing the last caption lines through Whisper comes after.
        # Sockets close in the background: one of them is the counselor's, whose handler is this call.
        for participant in session.participants.values():
            c = participant.connection
            if participant.presence not in (Presence.DECLINED,):
                participant.presence = Presence.LEFT
            participant.connection = None
            if c is not None:
                c.send({"type": "session_ended", "reason": reason})
                c.participant = None
                self.registry.spawn(c.close(WSCloseCode.OK, "session ended"), name=f"close {c.label}")
        await self.uplinks.close_session(session, reason)
        await self.recorder.session_ended(session)

    async def _subscribe(self, conn: Connection, msg: p.Subscribe) -> None:
        if msg.channel == "counselor":
            # Only the role the server assigned counts; the token in the URL is never trusted here.
            self._require_counselor(conn, "subscribe")
            conn.send({"type": "subscribed", "channel": "counselor"})
        elif msg.channel == "captions":
            conn.captions_enabled = True
            conn.send({"type": "subscribed", "channel": "captions"})
        else:
            raise p.ProtocolError("bad_message", f"No channel named {msg.channel!r}.", ref="subscribe")

    async def close_all(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
