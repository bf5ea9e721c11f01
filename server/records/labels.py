"""Words people read for the analysis' names, for what the server writes (the PDF report, the text export).

The same words as the pages' ``web/static/labels.js`` (the live panel and the review page), so a cue reads
the same in the room, on the review page and on paper; tests/records/test_labels.py runs labels.js in Node
and fails when the two disagree.
"""

from __future__ import annotations

# Cue kinds in plain words.
KIND_LABELS: dict[str, str] = {
    "words.sentiment_shift": "Tone of words",
    "words.risk": "Words worth checking",
    "voice.pace": "Speaking pace",
    "voice.pace_words": "Speaking pace (words)",
    "voice.loudness": "Loudness",
    "voice.pitch": "Pitch",
    "voice.flatness": "Liveliness of voice",
    "voice.pauses": "Pauses while speaking",
    "conversation.interruptions": "Talking over others",
    "conversation.response_latency": "Pause before answering",
    "conversation.long_silence": "Long silences",
    "conversation.talk_share": "Your share of talk",
    "conversation.silent_participant": "Someone staying quiet",
    "video.face_absent": "Face not in view",
    "video.looking_away": "Looking away",
    "video.restless": "Head movement",
    "video.expression_tense": "Facial expression (weak signal)",
    "words.risk_set_aside": "Words set aside (no alert)",
}

# What each severity asks of the counselor, in words (never a raw level name).
SEVERITY_LABELS: dict[str, str] = {
    "urgent": "Urgent alert",
    "notice": "Worth a look",
    "info": "For information",
}


def base_kind(kind: str) -> str:
    """A cue's kind without its ".ended" companion suffix ("video.face_absent.ended" -> "video.face_absent")."""
    return kind.removesuffix(".ended")


def kind_label(kind: str) -> str:
    """The kind in words; an unknown kind ("words.risk_language") still reads as words: "Risk language (words)"."""
    base = base_kind(kind)
    if base in KIND_LABELS:
        return KIND_LABELS[base]
    family, *rest = base.split(".")
    name = (" ".join(rest) if rest else family).replace("_", " ")
    words = name[:1].upper() + name[1:]
    return f"{words} ({family})" if rest else words


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, SEVERITY_LABELS["info"])
