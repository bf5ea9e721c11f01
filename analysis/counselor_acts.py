"""MITI-style coding of counselor lines: open question, closed question, reflection, other.

Rules follow the Motivational Interviewing Treatment Integrity (MITI 4.2) definitions: an open question
invites elaboration ("what", "how", "tell me about"); a closed question can be answered yes/no or with a
short fact ("do/did/are/is/can ...", "how many", "when", "where"); a reflection restates the client's
meaning as a statement ("it sounds like you ...", "you feel ...", "so you're saying ..."). A reflection
said with a rising tone ("you're angry?") is still coded a reflection, as MITI does. Advice in the second
person ("you should ...") is "other".

Pure code; the tally is a gentle per-session counter for the panel, not a score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class CounselorAct(StrEnum):
    OPEN_QUESTION = "open_question"
    CLOSED_QUESTION = "closed_question"
    REFLECTION = "reflection"
    OTHER = "other"


_FILLERS = re.compile(
    r"^(?:(?:so|and|okay|ok|well|um+|uh+|hmm+|right|now|alright|all right|yeah|mhm|"
    r"i see|i wonder|i am curious|just)\b[ ,]*)+"
)
_OPEN_ANYWHERE = re.compile(
    r"\b(?:tell me (?:more|about|what|how)|say (?:a bit |a little )?more|describe|walk me through|"
    r"help me understand|talk (?:to me )?(?:a bit |a little )?(?:more )?about|what (?:was|is) (?:that|it) like|"
    r"in what ways?|expand on|give me an example|what else)\b"
)
_OPEN_START = re.compile(r"^(?:what|how|why|in what|what is|what are|what was|how come)\b")
_CLOSED_WH = re.compile(
    r"^(?:how (?:many|much|long|old|often|far|soon)|when|where|who|whom|which|what (?:time|day|year|age|"
    r"date|number)|is it|are you|is that)\b"
)
_AUX_START = re.compile(
    r"^(?:do|does|did|are|is|was|were|can|could|would|will|have|has|had|should|shall|may|might|am|"
    r"wo not|do not|does not|did not|is not|are not|have not|would not|could not|can not|have you|any)\b"
)
_REFLECTION = re.compile(
    r"^(?:it sounds like|sounds like|it seems (?:like|that|as if|as though)?|seems like|it feels like|"
    r"you feel|you are feeling|you felt|you have been feeling|you are (?:really |pretty |quite |very )?"
    r"(?:\w+ing|worried|angry|upset|frustrated|tired|scared|afraid|sad|hurt|torn|stuck|unsure|not sure|"
    r"ready|done|overwhelmed|exhausted|lonely|proud|relieved|confused|anxious)|you are saying|"
    r"you (?:are|were) hoping|what i am hearing|what i hear|i hear (?:that )?you|i am hearing|"
    r"it is like you|you have been|you want|you wanted|you were|you had|you wish|you wished|"
    r"you would like|you do not want|you are not sure|"
    r"you wonder|you are wondering|on (?:the )?one hand|part of you|you really|you care|you believe|"
    r"you think|you know that|you see|you value|you decided|you need|you are noticing|you noticed|"
    r"you realized|you are (?:a person|someone)|this is|that was|that must|that sounds|so you|so for you|"
    r"for you|your (?:\w+ )?(?:is|are|was|were|has|have|feels?)|you(?:r)? (?:\w+ )?(?:matters?|hurts?))\b"
)
_ADVICE = re.compile(
    r"^(?:you should|you could try|you need to|you have to|you must|you might want to|you can|you ought|"
    r"you will need|you may want|you might try|you could)\b"
)
_CONTRACTIONS = (
    ("n't", " not"),
    ("'re", " are"),
    ("'ve", " have"),
    ("'ll", " will"),
    ("'d", " would"),
    ("'m", " am"),
    ("it's", "it is"),
    ("that's", "that is"),
    ("what's", "what is"),
    ("how's", "how is"),
    ("there's", "there is"),
    ("who's", "who is"),
)


def _normalise(text: str) -> str:
    t = text.lower().replace("’", "'")
    t = t.replace("can't", "can not").replace("won't", "wo not")
    for a, b in _CONTRACTIONS:
        t = t.replace(a, b)
    t = re.sub(r"[^a-z0-9?.!, ]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def _classify_sentence(sentence: str, is_question: bool) -> CounselorAct:
    s = _FILLERS.sub("", sentence).strip(" ,")
    if not s:
        return CounselorAct.OTHER
    if _OPEN_ANYWHERE.search(s):
        return CounselorAct.OPEN_QUESTION
    if is_question:
        if _CLOSED_WH.match(s):
            return CounselorAct.CLOSED_QUESTION
        if _OPEN_START.match(s):
            return CounselorAct.OPEN_QUESTION
        if _AUX_START.match(s):
            return CounselorAct.CLOSED_QUESTION
        if _REFLECTION.match(s) and not _ADVICE.match(s):
            return CounselorAct.REFLECTION
        return CounselorAct.CLOSED_QUESTION  # "right?", "anything else?", "okay?"
    # Captions may lose the question mark: trust a question-shaped start.
    if _CLOSED_WH.match(s) and not s.startswith(("when ", "where ", "who ")):
        return CounselorAct.CLOSED_QUESTION
    if _AUX_START.match(s) and re.match(r"^\w+(?: not)? (?:you|it|that|this|there|anyone|anything|we)\b", s):
        return CounselorAct.CLOSED_QUESTION
    if _ADVICE.match(s):
        return CounselorAct.OTHER
    if _REFLECTION.match(s):
        return CounselorAct.REFLECTION
    return CounselorAct.OTHER


_PRIORITY = {
    CounselorAct.OPEN_QUESTION: 3,
    CounselorAct.CLOSED_QUESTION: 2,
    CounselorAct.REFLECTION: 1,
    CounselorAct.OTHER: 0,
}


def classify_counselor_act(text: str) -> CounselorAct:
    """One code per caption line. A line holding a reflection and a question is coded by its question,
    the part the client answers (a question ends the counselor's turn)."""
    norm = _normalise(text)
    parts = [p for p in re.split(r"(?<=[.!?])\s+", norm) if p.strip(" .!?,")]
    if not parts:
        return CounselorAct.OTHER
    acts = [_classify_sentence(p.rstrip(".!?").strip(), p.endswith("?")) for p in parts]
    return max(acts, key=lambda a: _PRIORITY[a])


class BalanceRating(StrEnum):
    BELOW_FAIR = "below_fair"  # fewer reflections than questions
    FAIR = "fair"  # at least one reflection per question (1:1)
    GOOD = "good"  # at least two reflections per question (2:1)


FAIR_RATIO = 1.0
GOOD_RATIO = 2.0


@dataclass(frozen=True, slots=True)
class ListeningTally:
    open_question: int = 0
    closed_question: int = 0
    reflection: int = 0
    other: int = 0

    @property
    def questions(self) -> int:
        return self.open_question + self.closed_question

    @property
    def reflection_to_question(self) -> float | None:
        """Reflections per question, as counselors are coached (1:1 fair, 2:1 good); None before a question."""
        return None if self.questions == 0 else self.reflection / self.questions

    @property
    def rating(self) -> BalanceRating | None:
        ratio = self.reflection_to_question
        if ratio is None:
            return BalanceRating.GOOD if self.reflection else None
        if ratio >= GOOD_RATIO:
            return BalanceRating.GOOD
        return BalanceRating.FAIR if ratio >= FAIR_RATIO else BalanceRating.BELOW_FAIR

    @property
    def open_share(self) -> float | None:
        """Share (0..1) of questions that were open; None before the first question."""
        return None if self.questions == 0 else self.open_question / self.questions

    @property
    def percent_open(self) -> float | None:
        share = self.open_share
        return None if share is None else 100.0 * share


@dataclass
class ListeningCounter:
    """Per-counselor counts of decided acts (from rules alone or rules plus model)."""

    _counts: dict[str, dict[CounselorAct, int]] = field(default_factory=dict)

    def add(self, participant_id: str, act: CounselorAct) -> None:
        counts = self._counts.setdefault(participant_id, dict.fromkeys(CounselorAct, 0))
        counts[act] += 1

    def tally(self, participant_id: str | None = None) -> ListeningTally:
        if participant_id is not None:
            rows = [self._counts[participant_id]] if participant_id in self._counts else []
        else:
            rows = list(self._counts.values())
        total = dict.fromkeys(CounselorAct, 0)
        for row in rows:
            for act, n in row.items():
                total[act] += n
        return ListeningTally(**{act.value: n for act, n in total.items()})
