"""The outbound side of one participant WebSocket: a bounded queue drained by its own writer task, so a
slow browser never holds up the others. It is the ``server.session.outbox.Outbox`` of its participant.

Private frames (the counselor channel) are refused here unless the server assigned this socket the
counselor role at join: a second line behind the routing in ``server.session.delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, web

from server.session.model import Session
from server.session.participant import Participant
from server.session.protocol.server import Frame
from server.session.states import Role

log = logging.getLogger(__name__)


class Connection:
    QUEUE_LIMIT = 512

    def __init__(self, ws: web.WebSocketResponse, remote: str, base_url: str) -> None:
        self.ws = ws
        self.remote = remote
        self.base_url = base_url  # how this browser reached the server, for links it is shown
        self._role: Role | None = None
        self.participant: Participant | None = None
        self.session: Session | None = None
        self._captions_enabled = True
        self._closed = False
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(self.QUEUE_LIMIT)
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    # --- Outbox -----------------------------------------------------------------------------------------
    @property
    def role(self) -> Role | None:
        return self._role

    @property
    def captions_enabled(self) -> bool:
        return self._captions_enabled

    @property
    def is_open(self) -> bool:
        return not self._closed

    def send(self, frame: Frame) -> None:
        if self._closed:
            return
        if frame.private and self._role is not Role.COUNSELOR:
            log.error("refused to send a counselor-only message to a %s connection (%s)", self._role, self.label)
            return
        try:
            self._queue.put_nowait(frame.text)
        except asyncio.QueueFull:
            log.warning("closing %s: it is not reading its messages", self.label)
            self._closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            self._closer = asyncio.get_running_loop().create_task(self.close(WSCloseCode.POLICY_VIOLATION, "too slow"))

    def close_soon(self, code: int, reason: str) -> None:
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self.close(code, reason), name=f"close {self.label}")

    # --- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer {self.remote}")

    def joined(self, session: Session, participant: Participant, role: Role) -> None:
        self.session, self.participant, self._role = session, participant, role

    def set_captions(self, enabled: bool) -> None:
        self._captions_enabled = enabled

    async def _write_loop(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def close(self, code: int = WSCloseCode.OK, reason: str = "") -> None:
        """Flush what is queued (e.g. a final ``session_ended``), then close the socket."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=2)
            self._writer.cancel()
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close(code=code, message=reason.encode()[:120])

    async def closed(self) -> None:
        """Waits for a ``close_soon`` in flight (shutdown)."""
        if self._closer is not None:
            with contextlib.suppress(Exception):
                await self._closer

    @property
    def label(self) -> str:
        who = self.participant.id if self.participant else "unjoined"
        where = self.session.id if self.session else "-"
        return f"session {where} participant {who} ({self.remote})"
