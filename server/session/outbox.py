"""``Outbox``: the sending side of one participant socket.

``server.call.connection.Connection`` implements it over an aiohttp WebSocket; unit tests use a list.
The session model only attaches and detaches outboxes; ``server.session.delivery`` sends through them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from server.session.protocol.server import Frame
    from server.session.states import Role


class Outbox(Protocol):
    """One participant socket's outgoing side. ``role`` is the role the server assigned at join."""

    @property
    def role(self) -> Role | None: ...

    @property
    def captions_enabled(self) -> bool: ...

    @property
    def is_open(self) -> bool: ...

    def send(self, frame: Frame) -> None:
        """Queue a frame; never blocks. A private frame on a non-counselor outbox is refused."""

    def close_soon(self, code: int, reason: str) -> None:
        """Flush what is queued (e.g. ``session_ended``), then close the socket, in the background."""
