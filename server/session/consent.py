"""The consent texts participants read before anything listens, with the version that is recorded.

The client's text says how long the transcript is kept, so it is rendered from the retention setting
(``client_consent(settings.retention_days)``), and the recorded version names that setting too: a record
shows exactly which words the client agreed to.
"""

from __future__ import annotations

from dataclasses import dataclass

CONSENT_VERSION = "2026-12-01.1"


@dataclass(frozen=True, slots=True)
class ConsentText:
    version: str
    title: str
    text: str


def _kept_for(retention_days: float) -> tuple[str, str]:
    """(the sentence about how long the transcript is kept, a short tag for the version)."""
    if retention_days <= 0:
        return "It is kept until your counselor deletes it.", "kept"
    if retention_days < 1:
        hours = max(1, round(retention_days * 24))
        span = f"{hours} hour" if hours == 1 else f"{hours} hours"
    else:
        span = "1 day" if retention_days == 1 else f"{retention_days:g} days"
    return f"It is kept for {span}, and then deleted automatically.", f"{retention_days:g}d"


def client_consent(retention_days: float) -> ConsentText:
    kept, tag = _kept_for(retention_days)
    return ConsentText(
        version=f"{CONSENT_VERSION}-{tag}",
        title="Before we start: captions and cues for your counselor",
        text=(
            "This session can show live captions of what is said. A speech program on this practice's own "
            "server makes them. Nothing you say or show is sent to any outside service.\n\n"
            "For this, the sound of your microphone and a small copy of your camera picture go to that "
            "server while you agree. The program notices things about your voice and your picture (for "
            "example, speaking faster, or looking away). It also checks your words for their tone, and for "
            "signs that you may be at risk of harm. If it finds such signs, it alerts your counselor at once, "
            "so they can check in with you.\n\n"
            "Your counselor sees these private cues. They help your counselor pay attention. They are not a "
            "judgement or a diagnosis, and only your counselor sees them.\n\n"
            "What is kept afterwards: the written transcript of the session, with the cues, in your "
            f"counselor's records. {kept} Your counselor can also export a copy (for example, a PDF report) "
            "for their records. No audio or video is recorded or kept.\n\n"
            "If you say no, you still have the video call with your counselor, without captions of your voice "
            "and without cues about you. You can change your mind at any time during the call."
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
