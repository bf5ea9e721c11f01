"""The consent texts participants read before anything listens, with the version that is recorded."""

from __future__ import annotations

from dataclasses import dataclass

CONSENT_VERSION = "2026-11-25.1"


@dataclass(frozen=True, slots=True)
class ConsentText:
    version: str
    title: str
    text: str


CLIENT_CONSENT = ConsentText(
    version=CONSENT_VERSION,
    title="Before we start: captions and private notes for your counselor",
    text=(
        "This session can show live captions of what is said. The captions are made by a speech "
        "program running on this practice's own server. Nothing you say is sent to any outside "
        "service.\n\n"
        "Your counselor also sees private cues that this program notices, about tone of voice and body "
        "language (for example, speaking faster, or looking away). They help your counselor pay "
        "attention. They are not a judgement or a diagnosis, and only your counselor sees them.\n\n"
        "What is kept afterwards: the written transcript of the session, with these cues, for your "
        "counselor's records. No audio or video is recorded or kept.\n\n"
        "If you say no, you still have the video call with your counselor, without captions made from "
        "your voice and without cues about you. You can change your mind at any time during the call."
    ),
)

COUNSELOR_CONSENT = ConsentText(
    version=CONSENT_VERSION,
    title="Caption my own speech",
    text=(
        "Your microphone audio goes to this server's local speech program, so that your words appear "
        "in the captions and the transcript. Nothing is sent to an outside service and no audio is kept."
    ),
)
