"""The states a participant can be in: role, presence in the call, and consent decision."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COUNSELOR = "counselor"
    CLIENT = "client"


class Presence(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    RECONNECTING = "reconnecting"
    LEFT = "left"
    DECLINED = "declined"


class ConsentState(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
