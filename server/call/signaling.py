"""The WebSocket endpoint: parses every frame (``server.session.protocol.client``), checks what the sender
may do from the role the server gave it, asks the session model for the transition, and carries out the
effects it returns: messages through ``server.session.delivery``, socket closes, reconnect grace timers,
analysis uplinks, and what the record keeps. Media is not handled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from server.call.connection import Connection
from server.live.engine import LiveAnalysis
from server.media.uplink import UplinkError, UplinkManager
from server.records.recorder import Recorder
from server.session.consent import COUNSELOR_CONSENT, ConsentText, client_consent
from server.session.delivery import deliver
from server.session.effects import (
    CloseSocket,
    ConsentRecorded,
    Effect,
    ParticipantJoined,
    ParticipantLeft,
    SessionOver,
    StartGrace,
    StopGrace,
    ToCounselors,
    ToParticipant,
    UplinkNoLongerWanted,
)
from server.session.model import Session, SessionFull
from server.session.participant import Participant
from server.session.protocol import client as c
from server.session.protocol import server as s
from server.session.protocol.counselor import MutedKinds
from server.session.protocol.errors import ProtocolError
from server.session.registry import SessionRegistry, TokenProblem
from server.session.states import Presence, Role
from server.settings import Settings

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


async def _nothing(session_id: str, previous_owner: str) -> None:
    return None


def _error(conn: Connection, code: str, message: str, ref: str | None = None) -> None:
    conn.send(s.encode(s.error_reply(code, message, ref)))


class Signaling:
    def __init__(
        self,
        settings: Settings,
        registry: SessionRegistry,
        uplinks: UplinkManager,
        recorder: Recorder,
        live: LiveAnalysis,
        base_url: Callable[[web.Request], str],
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.uplinks = uplinks
        self.recorder = recorder
        self.live = live
        self.base_url = base_url
        self.sockets: set[web.WebSocketResponse] = set()
        # Called with (session id, previous owner) when this instance takes a session over from another;
        # the durability layer tells that instance to let go.
        self.on_taken_over: Callable[[str, str], Awaitable[None]] = _nothing
        self._grace: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        Handler = Callable[[Connection, Session, Participant, Any], Awaitable[None]]
        self._handlers: dict[type[Any], Handler] = {
            c.Consent: self._consent,
            c.Admit: self._admit,
            c.Decline: self._decline,
            c.Signal: self._signal,
            c.UplinkOffer: self._uplink_offer,
            c.UplinkStop: self._uplink_stop,
            c.MediaState: self._media_state,
            c.NetQuality: self._net_quality,
            c.Chat: self._chat,
            c.Captions: self._captions,
            c.CueMute: self._cue_mute,
            c.Leave: self._leave,
            c.EndSession: self._end_session,
            c.Subscribe: self._subscribe,
            c.ResumeSaved: self._resume_saved,
        }

    # --- socket lifecycle ---------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=self.settings.ws_max_message_bytes, heartbeat=20.0)
        try:
            await ws.prepare(request)
        except ConnectionResetError:
            # The browser (or the balancer) went away during the handshake: nothing to answer.
            log.info("a socket closed during its handshake (%s)", request.remote)
            return ws
        conn = Connection(ws, request.remote or "?", self.base_url(request))
        conn.start()
        self.sockets.add(ws)
        bucket = TokenBucket(self.settings.ws_messages_per_second, self.settings.ws_message_burst)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    if not bucket.take():
                        _error(conn, "rate_limited", "Too many messages; slow down.")
                        continue
                    await self.dispatch(conn, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    _error(conn, "bad_message", "Binary frames are not part of the protocol.")
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
            message = c.parse_client_message(raw)
            if isinstance(message, c.Ping):
                conn.send(s.encode(s.Pong()))
            elif isinstance(message, c.Join):
                await self._join(conn, message)
            else:
                session, participant = conn.session, conn.participant
                if session is None or participant is None or participant.connection is not conn:
                    raise ProtocolError("not_joined", "Send 'join' first.", ref=message.type)
                await self._handlers[type(message)](conn, session, participant, message)
        except ProtocolError as exc:
            _error(conn, exc.code, exc.message, exc.ref)
        except Exception:
            # A bug must not take the session down: the sender gets an error, everyone else carries on.
            log.exception("unexpected failure handling a message on %s", conn.label)
            _error(conn, "internal", "Something went wrong on the server.")

    async def _disconnected(self, conn: Connection) -> None:
        participant, session = conn.participant, conn.session
        if participant is not None and session is not None:
            await self.carry_out(session, session.drop(participant, conn))

    # --- effects ----------------------------------------------------------------------------------------
    async def carry_out(self, session: Session, effects: Iterable[Effect], *, persist: bool = True) -> None:
        """Sends the messages among ``effects``, then does the rest in order, then stores the session's
        state (``persist``) so another instance, or this one after a restart, can carry it on."""
        for effect in deliver(session, effects):
            if isinstance(effect, CloseSocket):
                effect.outbox.close_soon(effect.code, effect.reason)
            elif isinstance(effect, StartGrace):
                self._start_grace(session, effect.participant_id)
                self.live.presence_changed(session, session.participants[effect.participant_id])
            elif isinstance(effect, StopGrace):
                task = self._grace.pop((session.id, effect.participant_id), None)
                if task is not None and task is not asyncio.current_task():
                    task.cancel()
            elif isinstance(effect, ParticipantJoined):
                await self.recorder.participant_joined(session, session.participants[effect.participant_id])
            elif isinstance(effect, ParticipantLeft):
                participant = session.participants[effect.participant_id]
                await self.uplinks.close(session, participant, effect.reason)
                await self.recorder.participant_left(session, participant)
            elif isinstance(effect, UplinkNoLongerWanted):
                participant = session.participants[effect.participant_id]
                closed = await self.uplinks.close(session, participant, effect.reason, flush=not effect.discard)
                if closed and effect.discard:
                    deliver(session, [ToParticipant(participant.id, s.UplinkClosed(reason="consent_withdrawn"))])
            elif isinstance(effect, ConsentRecorded):
                await self.recorder.consent(session, effect.decision)
            elif isinstance(effect, SessionOver):
                # Everyone has heard of the end and the record has its end time; flushing the last caption
                # lines through Whisper comes after (the line being spoken is still stored).
                await self.recorder.session_ended(session)
                await self.uplinks.close_session(session, effect.reason)
        if persist:
            try:
                await self.registry.save(session)
            except Exception:
                log.exception("session %s: could not store its live state", session.id)

    def _start_grace(self, session: Session, participant_id: str) -> None:
        async def expire_later() -> None:
            await asyncio.sleep(self.settings.reconnect_grace_s)
            self._grace.pop((session.id, participant_id), None)
            await self.carry_out(session, session.expire(participant_id))

        key = (session.id, participant_id)
        old = self._grace.pop(key, None)
        if old is not None:
            old.cancel()
        self._grace[key] = self.spawn(expire_later(), name=f"grace {participant_id}")

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- join -------------------------------------------------------------------------------------------
    async def _join(self, conn: Connection, msg: c.Join) -> None:
        if conn.participant is not None:
            raise ProtocolError("already_joined", "This connection has already joined.", ref="join")
        try:
            opened = await self.registry.open(msg.token)
        except TokenProblem as problem:
            self._refuse_join(conn, problem)
            return
        session, role = opened.session, opened.role
        if opened.restored:
            # Taken over just now: everyone's place is held for the grace period until they are back.
            if opened.previous_owner is not None:
                try:
                    await self.on_taken_over(session.id, opened.previous_owner)
                except Exception:
                    # The previous holder finds out at its next lease renewal anyway.
                    log.exception("session %s: could not tell %s it was taken over", session.id,
                                  opened.previous_owner)
            await self.carry_out(session, session.restored(), persist=False)
        try:
            joined = session.join(role, msg.name, msg.resume_key, conn, continuing=msg.continuing)
        except SessionFull:
            self._refuse_join(conn, self.registry.full_problem())
            return
        participant = joined.participant
        conn.joined(session, participant, role)
        consent = self._consent_text(role)
        welcome = s.Welcome(
            you=s.You(participant_id=participant.id, role=role, name=participant.name),
            session=(
                s.CounselorSessionInfo(
                    session_id=session.id, title=session.title, invite_url=conn.base_url + session.invite_path
                )
                if role is Role.COUNSELOR
                else s.SessionInfo(session_id=session.id, title=session.title)
            ),
            resume_key=joined.resume_key,
            ice_servers=[s.IceServer.model_validate(server) for server in self.settings.ice_servers],
            consent=s.ConsentOffer(
                version=consent.version, title=consent.title, text=consent.text, state=participant.consent
            ),
            state="waiting" if participant.presence is Presence.WAITING else "admitted",
            captions_available=self.settings.captions,
        )
        conn.send(s.encode(welcome))
        await self.carry_out(session, joined.effects)

    @staticmethod
    def _refuse_join(conn: Connection, problem: TokenProblem) -> None:
        _error(conn, problem.code, problem.message, "join")
        conn.close_soon(WSCloseCode.POLICY_VIOLATION, problem.code)

    # --- handlers -----------------------------------------------------------------------------------
    def _consent_text(self, role: Role) -> ConsentText:
        return COUNSELOR_CONSENT if role is Role.COUNSELOR else client_consent(self.settings.retention_days)

    @staticmethod
    def _require_counselor(conn: Connection, ref: str) -> None:
        # Only the role the server assigned counts; the token in the URL is never trusted here.
        if conn.role is not Role.COUNSELOR:
            raise ProtocolError("forbidden", "Only the counselor can do that.", ref=ref)

    @staticmethod
    def _require_admitted(participant: Participant, ref: str) -> None:
        if participant.presence is not Presence.ADMITTED:
            raise ProtocolError("not_admitted", "Please wait until the counselor lets you in.", ref=ref)

    async def _consent(self, conn: Connection, session: Session, participant: Participant, msg: c.Consent) -> None:
        expected = self._consent_text(participant.role)
        if msg.granted and msg.version != expected.version:
            raise ProtocolError(
                "bad_message", "That consent text is out of date; please reload the page and read it again.",
                ref="consent",
            )
        await self.carry_out(session, session.record_consent(participant, msg.granted, msg.version))

    async def _admit(self, conn: Connection, session: Session, participant: Participant, msg: c.Admit) -> None:
        self._require_counselor(conn, "admit")
        await self.carry_out(session, session.admit(msg.participant_id))

    async def _decline(self, conn: Connection, session: Session, participant: Participant, msg: c.Decline) -> None:
        self._require_counselor(conn, "decline")
        await self.carry_out(session, session.decline(msg.participant_id))

    async def _signal(self, conn: Connection, session: Session, participant: Participant, msg: c.Signal) -> None:
        self._require_admitted(participant, "signal")
        await self.carry_out(session, session.relay_signal(participant, msg), persist=False)

    async def _uplink_offer(
        self, conn: Connection, session: Session, participant: Participant, msg: c.UplinkOffer
    ) -> None:
        self._require_admitted(participant, "uplink_offer")
        if not participant.analysis_allowed:
            raise ProtocolError("no_consent", "Captions and cues need your consent first.", ref="uplink_offer")
        try:
            answer = await self.uplinks.open(session, participant, msg.sdp)
        except UplinkError as exc:
            raise ProtocolError(
                "uplink_failed", f"The analysis connection could not start: {exc}.", ref="uplink_offer"
            ) from exc
        # Consent may have been withdrawn while the answer was being made.
        if not participant.analysis_allowed:
            await self.uplinks.close(session, participant, "consent withdrawn", flush=False)
            raise ProtocolError("no_consent", "Consent was withdrawn.", ref="uplink_offer")
        conn.send(s.encode(s.UplinkAnswer(sdp=answer)))

    async def _uplink_stop(
        self, conn: Connection, session: Session, participant: Participant, msg: c.UplinkStop
    ) -> None:
        if await self.uplinks.close(session, participant, "stopped by participant"):
            conn.send(s.encode(s.UplinkClosed(reason="stopped")))

    async def _media_state(
        self, conn: Connection, session: Session, participant: Participant, msg: c.MediaState
    ) -> None:
        self._require_admitted(participant, "media_state")
        await self.carry_out(session, session.set_media(participant, msg.audio, msg.video), persist=False)

    async def _net_quality(
        self, conn: Connection, session: Session, participant: Participant, msg: c.NetQuality
    ) -> None:
        self._require_admitted(participant, "net_quality")
        report = s.NetReport(level=msg.level, rtt_ms=msg.rtt_ms, loss_pct=msg.loss_pct)
        await self.carry_out(session, session.set_network(participant, report), persist=False)

    async def _chat(self, conn: Connection, session: Session, participant: Participant, msg: c.Chat) -> None:
        self._require_admitted(participant, "chat")
        await self.carry_out(session, session.chat(participant, msg.text), persist=False)

    async def _resume_saved(
        self, conn: Connection, session: Session, participant: Participant, msg: c.ResumeSaved
    ) -> None:
        session.resume_key_saved(participant)
        await self.carry_out(session, [])

    async def _captions(self, conn: Connection, session: Session, participant: Participant, msg: c.Captions) -> None:
        conn.set_captions(msg.enabled)

    async def _cue_mute(self, conn: Connection, session: Session, participant: Participant, msg: c.CueMute) -> None:
        self._require_counselor(conn, "cue_mute")
        cues = self.live.session_cues(session)
        cues.mute(msg.kind, msg.muted)
        # Urgent alerts are never muted: the hint policy lets them through whatever is muted here.
        await self.carry_out(session, [ToCounselors(MutedKinds(kinds=sorted(cues.hints.muted_kinds)))], persist=False)

    async def _leave(self, conn: Connection, session: Session, participant: Participant, msg: c.Leave) -> None:
        await self.carry_out(session, session.leave(participant, conn))

    async def _end_session(
        self, conn: Connection, session: Session, participant: Participant, msg: c.EndSession
    ) -> None:
        self._require_counselor(conn, "end_session")
        await self.end_session(session, "ended_by_counselor")

    async def end_session(self, session: Session, reason: str) -> None:
        await self.carry_out(session, session.end(reason))

    async def _subscribe(
        self, conn: Connection, session: Session, participant: Participant, msg: c.Subscribe
    ) -> None:
        if msg.channel == "counselor":
            self._require_counselor(conn, "subscribe")
            conn.send(s.encode(s.Subscribed(channel="counselor")))
        elif msg.channel == "captions":
            conn.set_captions(True)
            conn.send(s.encode(s.Subscribed(channel="captions")))
        else:
            raise ProtocolError("bad_message", f"No channel named {msg.channel[:40]!r}.", ref="subscribe")

    async def let_go(self, session_id: str) -> None:
        """Another instance holds this session now: close its sockets here (the browsers reconnect and
        the balancer sends them there) and its uplinks, keeping what was being said, and forget it."""
        session = self.registry.forget(session_id)
        if session is None:
            return
        for participant in session.participants.values():
            key = (session.id, participant.id)
            if (task := self._grace.pop(key, None)) is not None:
                task.cancel()
            outbox, participant.connection = participant.connection, None
            if outbox is not None:
                outbox.close_soon(WSCloseCode.SERVICE_RESTART, "moved")
        await self.uplinks.close_session(session, "moved to another instance")
        log.info("session %s moved to another instance; let go here", session.id)

    async def end_abandoned(self, session: Session, at: datetime | None) -> None:
        """A session nobody returned to after its instance stopped: end it and complete its record."""
        await self.carry_out(session, session.end("nobody_returned", at))

    # --- shutdown -----------------------------------------------------------------------------------
    async def close(self) -> None:
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
