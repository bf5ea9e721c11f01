"""Why a client message was refused: the ``error`` reply's code and sentence."""

from __future__ import annotations


class ProtocolError(Exception):
    """A message was refused; ``code`` and ``message`` go back to the sender in an ``error`` reply."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
