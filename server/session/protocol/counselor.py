"""The counselor-only channel: every event kind the counselor's page receives (docs/protocol.md).

Every event shares the base ``CounselorEvent``; none is a ``PublicMessage``. They travel wrapped in
``server.session.protocol.server.CounselorChannel``, which the connection refuses, by type, on any
socket whose server-assigned role is not counselor. Panel data built from the pure analysis engines
reuses their frozen dataclasses as field types (``analysis.voice.VoiceFeatures`` and friends).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from analysis.conversation import ParticipantSummary
from analysis.events import Severity
from analysis.video import FaceFrameFeatures
from analysis.voice import BaselineStat, VoiceFeatures
from server.session.states import ConsentState, Presence, Role


class CounselorEvent(BaseModel):
    """Base of counselor-only events; ``kind`` names the event."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    cadence: ClassVar[str] = "on change"


class WaitingPerson(BaseModel):
    participant_id: str
    name: str
    since: str = Field(description="ISO 8601, UTC")


class Lobby(CounselorEvent):
    """Who waits to be admitted."""

    kind: Literal["lobby"] = "lobby"
    waiting: list[WaitingPerson]


class ConsentView(BaseModel):
    participant_id: str
    name: str
    role: Role
    state: Presence
    consent: ConsentState
    version: str | None
    at: str | None = Field(description="when the participant decided (ISO 8601, UTC)")


class ConsentStates(CounselorEvent):
    """Every participant's consent decision."""

    kind: Literal["consent_state"] = "consent_state"
    participants: list[ConsentView]


class UplinkState(CounselorEvent):
    """A participant's analysis uplink changed state."""

    kind: Literal["uplink_state"] = "uplink_state"
    participant_id: str
    state: Literal["connecting", "connected", "closed"]
    reason: str | None = None


class TranscriptLine(CounselorEvent):
    """A sentence of the transcript as it grows (the same ``line_id`` again, with more words) and when it
    is finished (``closed``: with its tone and, for the counselor's own sentences, the listening act);
    ``risk`` may come while it is still spoken (an urgent alert does not wait for the end)."""

    cadence: ClassVar[str] = "as each sentence grows and when it ends"
    kind: Literal["transcript_line"] = "transcript_line"
    line_id: int = Field(description="the stored sentence: later events for it replace its text")
    participant_id: str
    name: str
    role: Role
    text: str
    start_s: float
    end_s: float
    closed: bool = Field(description="the sentence is finished; its text changes no more (until revised)")
    sentiment: float | None
    risk: Literal["notice", "urgent"] | None
    counselor_act: Literal["open_question", "closed_question", "reflection", "other"] | None


class CueView(BaseModel):
    at_s: float
    participant_id: str
    name: str
    kind: str = Field(description="words.sentiment_shift, words.risk, voice.*, conversation.*, video.* ...")
    severity: Severity
    sentence: str
    evidence: dict[str, Any]
    line_id: int | None = Field(default=None, description="the transcript sentence it is about (text cues)")


class CueRaised(CounselorEvent):
    """A cue that passed the hint policy (de-duplicated, cooled down, capped, not muted)."""

    cadence: ClassVar[str] = "when noticed"
    kind: Literal["cue"] = "cue"
    cue: CueView


class Alert(CounselorEvent):
    """An urgent cue (crisis language): never muted, capped or delayed."""

    cadence: ClassVar[str] = "when noticed"
    kind: Literal["alert"] = "alert"
    cue: CueView


class SentimentPoint(CounselorEvent):
    """The tone of one finished sentence, for the panel's trend chart."""

    cadence: ClassVar[str] = "per finished sentence"
    kind: Literal["sentiment"] = "sentiment"
    participant_id: str
    at_s: float
    compound: float = Field(ge=-1, le=1)


class Conversation(CounselorEvent):
    """Talk time, turns, overlaps and silences."""

    cadence: ClassVar[str] = "every 2 s while audio flows"
    kind: Literal["conversation"] = "conversation"
    at_s: float
    participants: tuple[ParticipantSummary, ...]
    interruptions: dict[str, dict[str, int]]
    backchannels: int
    overlaps: int
    overlap_s: float
    transitions: dict[str, dict[str, int]]
    silent_participant_ids: tuple[str, ...]
    longest_silence_s: float


class VoiceState(CounselorEvent):
    """A speaker's voice features and their own baseline."""

    cadence: ClassVar[str] = "every 2 s per speaker"
    kind: Literal["voice_state"] = "voice_state"
    participant_id: str
    features: VoiceFeatures
    baseline: dict[str, BaselineStat]
    baseline_ready: bool


class VideoState(CounselorEvent):
    """What a client's video shows (face in view, pose, movement, expression hint)."""

    cadence: ClassVar[str] = "about once a second per client"
    kind: Literal["video_state"] = "video_state"
    participant_id: str
    features: FaceFrameFeatures


class CameraState(CounselorEvent):
    """A client turned their camera off or on. While it is off their video cues pause (a dark picture is
    not a face out of view) and the panel says so."""

    kind: Literal["camera_state"] = "camera_state"
    participant_id: str
    camera_on: bool


class Listening(CounselorEvent):
    """The counselor's own listening counters."""

    cadence: ClassVar[str] = "per counselor line"
    kind: Literal["listening"] = "listening"
    participant_id: str
    open_question: int
    closed_question: int
    reflection: int
    other: int
    reflection_to_question: float | None
    percent_open: float | None
    rating: Literal["below_fair", "fair", "good"] | None = Field(
        default=None, description="the reflections-to-questions band: below 1:1, fair (1:1), good (2:1)")


class MutedKinds(CounselorEvent):
    """The cue kinds muted in this session, after ``cue_mute``."""

    kind: Literal["muted_kinds"] = "muted_kinds"
    kinds: list[str]


class CaptionsOff(CounselorEvent):
    """This session started while the caption engine was full: no live captions, no transcript lines and
    no text cues (crisis language, counselor acts) for it; voice, conversation and video cues carry on.
    ``reason``: "capacity" (as many captioned sessions as the server is set for) or "overloaded" (the
    engine was behind). ``message`` is the sentence to show."""

    cadence: ClassVar[str] = "whenever an uplink of the session starts"
    kind: Literal["captions_unavailable"] = "captions_unavailable"
    reason: Literal["capacity", "overloaded"]
    message: str


class CaptionsOn(CounselorEvent):
    """Live captions are on again for a session that started without them (room came free in the caption
    engine): captions, transcript lines and text cues from now on; what was said while they were off is
    not in the transcript. ``message`` is the sentence to show."""

    cadence: ClassVar[str] = "once, when the session gets live captions"
    kind: Literal["captions_available"] = "captions_available"
    message: str


CounselorEventUnion = (
    Lobby
    | ConsentStates
    | UplinkState
    | TranscriptLine
    | CueRaised
    | Alert
    | SentimentPoint
    | Conversation
    | VoiceState
    | VideoState
    | CameraState
    | Listening
    | MutedKinds
    | CaptionsOff
    | CaptionsOn
)
COUNSELOR_EVENTS: tuple[type[CounselorEvent], ...] = (
    Lobby, ConsentStates, UplinkState, TranscriptLine, CueRaised, Alert, SentimentPoint,
    Conversation, VoiceState, VideoState, CameraState, Listening, MutedKinds, CaptionsOff, CaptionsOn,
)
