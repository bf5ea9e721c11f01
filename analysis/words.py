"""Text cues from what people say: tone, crisis language and counselor acts, in one place.

`WordCues` is what a live session runs on every sentence (``analysis.sentences``: whole sentences, not
caption fragments) and what `attune analyze-text` runs on a transcript file's lines, so both give the same
answers. A sentence still being spoken gets an early crisis check (`assess_open_sentence`), so an urgent
alert reaches the counselor as soon as its words are heard, across caption cuts: settled words, or the
newest caption's tentative words once two decodes in a row hold the phrase.

- every line: VADER compound score, added to the speaker's series (chartable) and checked for a shift
  against the speaker's own baseline (clients only; `words.sentiment_shift`, info/notice);
- client lines: crisis language (`words.risk`): URGENT at once, quoting the line; NOTICE for
  third-party, past, hypothetical or softer warning signs. Counselor lines are not assessed: counselors
  ask screening questions ("have you thought about killing yourself?") as part of the job;
- counselor lines: MITI act (open/closed question, reflection, other) and per-session counts, with the
  reflection-to-question ratio (1:1 fair, 2:1 good) and the share of open questions.

With a `TextCueJudge` (analysis.text_model: rules plus a sentence-embedding model) the rules' crisis
findings are put to a vote and counselor acts are coded in the context of the client's last turn; a
rule hit the model sets aside is reported as an INFO cue that names the rule and the reason. Without one
the rules alone decide, as before.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from analysis.captions import word_key
from analysis.counselor_acts import CounselorAct, ListeningCounter, ListeningTally, classify_counselor_act
from analysis.events import Cue, Severity
from analysis.risk import Frame, RiskCategory, RiskDetector, RiskFinding
from analysis.sentiment import SentimentSettings, SentimentTracker
from analysis.text_model import ActDecision, CrisisJudgement, TextCueJudge, Verdict

COUNSELOR = "counselor"
CLIENT = "client"

_CATEGORY_WORDS: dict[RiskCategory, str] = {
    RiskCategory.SUICIDE: "suicidal language",
    RiskCategory.SELF_HARM: "self-harm",
    RiskCategory.HARM_OTHERS: "talk of harming someone",
    RiskCategory.ABUSE: "abuse",
    RiskCategory.UNSAFE: "not being safe",
}
_FRAME_WORDS: dict[Frame, str] = {
    Frame.FIRST_PERSON: "",
    Frame.THIRD_PARTY: " about someone else",
    Frame.GENERIC_YOU: " (general 'you')",
    Frame.PAST: " in the past",
    Frame.RESOLVED: " (said to be over)",
    Frame.HYPOTHETICAL: " (hypothetical)",
    Frame.HEDGED: " (hedged)",
}
_QUOTE_LIMIT = 240


@dataclass(frozen=True, slots=True)
class WordSettings:
    sentiment: SentimentSettings = field(default_factory=SentimentSettings)
    context_lines: int = 2  # the speaker's previous lines that can frame a line ("in that movie...")
    context_window_s: float = 60.0
    notice_repeat_s: float = 300.0  # the same NOTICE rule for the same person is not repeated sooner
    # A sentence still being spoken raises an urgent alert early only once this many settled words
    # follow the matched phrase: "hurting myself is not something I'd do" negates after the phrase.
    words_after_phrase: int = 4
    # The same check on the newest partial's tentative words (two decodes in a row heard the phrase) waits
    # for fewer: they come about 1.5 s before the words settle, and the sentence is judged again at its
    # end. Two were too few: "hurting myself is not" is urgent until "something" follows.
    tentative_words_after_phrase: int = 3


@dataclass(frozen=True, slots=True)
class LineAnalysis:
    sentiment: float
    risk: RiskFinding | None  # an alert (URGENT or NOTICE), or None
    counselor_act: CounselorAct | None
    judgement: CrisisJudgement | None = None  # the vote behind `risk`, when a model is in use
    act_decision: ActDecision | None = None


class WordCues:
    """Feed final caption lines; get cues. One instance per session."""

    def __init__(self, settings: WordSettings | None = None, judge: TextCueJudge | None = None) -> None:
        self.settings = settings or WordSettings()
        self.sentiment = SentimentTracker(self.settings.sentiment)
        self.risk = judge.detector if judge is not None else RiskDetector()
        self.judge = judge
        self.acts = ListeningCounter()
        self._recent: dict[str, deque[tuple[float, str]]] = {}
        self._last_notice: dict[tuple[str, str], float] = {}

    def feed(self, participant_id: str, role: str, text: str, at_s: float) -> list[Cue]:
        return self.feed_line(participant_id, role, text, at_s)[1]

    def feed_line(self, participant_id: str, role: str, text: str, at_s: float) -> tuple[LineAnalysis, list[Cue]]:
        text = text.strip()
        compound = self.sentiment.score(text) if text else 0.0
        cues: list[Cue] = []
        risk: RiskFinding | None = None
        act: CounselorAct | None = None
        judgement: CrisisJudgement | None = None
        decision: ActDecision | None = None
        recent = self._recent.setdefault(participant_id, deque(maxlen=self.settings.context_lines))
        if role == COUNSELOR:
            if text:
                if self.judge is not None:
                    decision = self.judge.code_counselor_line(text)
                    act = decision.act
                else:
                    act = classify_counselor_act(text)
                self.acts.add(participant_id, act)
                self.sentiment.add(participant_id, role, text, at_s, compound)
        elif text:
            context = [t for when, t in recent if at_s - when <= self.settings.context_window_s]
            if self.judge is not None:
                judgement = self.judge.assess_client_line(text, context)
                risk = judgement.alert
            else:
                risk = self.risk.assess(text, context)
            if risk is not None:
                cue = self._risk_cue(participant_id, role, text, at_s, risk, judgement)
                if cue is not None:
                    cues.append(cue)
            elif judgement is not None and judgement.verdict is Verdict.SET_ASIDE:
                cues.append(self._set_aside_cue(participant_id, role, text, at_s, judgement))
            cues.extend(self.sentiment.add(participant_id, role, text, at_s, compound))
        if text:
            recent.append((at_s, text))
        return LineAnalysis(compound, risk, act, judgement, decision), cues

    def assess_open_sentence(
        self, participant_id: str, role: str, text: str, at_s: float, *, tentative: str = "", heard_before: str = ""
    ) -> Cue | None:
        """The crisis check of a sentence still being spoken, so an urgent alert does not wait for the
        sentence to end. ``text``: its settled words so far, across caption cuts; ``tentative``: the newest
        caption partial's words after them, which may still change; ``heard_before``: the previous partial of
        the same utterance, whole (settled and tentative words).

        Only an URGENT finding on the whole text is raised here, and only when its phrase is complete:
        ``words_after_phrase`` settled words follow it (or its sentence ends), or, while the phrase is still
        tentative, the previous partial held it too and ``tentative_words_after_phrase`` words follow it.
        The sentence is judged again, whole, when it ends (``feed_line``). Changes no state: tone, acts and
        context follow sentences."""
        text, tentative = text.strip(), tentative.strip()
        whole = f"{text} {tentative}".strip()
        if role == COUNSELOR or not whole:
            return None
        recent = self._recent.get(participant_id, deque())
        context = [t for when, t in recent if at_s - when <= self.settings.context_window_s]
        risk = self.risk.assess(whole, context)
        if risk is None:
            return None  # only a rule hit is ever urgent; this runs on every partial, the model vote costs more
        judgement: CrisisJudgement | None = None
        if self.judge is not None:
            judgement = self.judge.assess_client_line(whole, context, rules=risk, open_sentence=True)
            risk = judgement.alert
        if risk is None or risk.level is not Severity.URGENT:
            return None
        settled = _settled_after(text, risk.phrase, self.settings.words_after_phrase)
        heard_twice = _holds(heard_before, risk.phrase) and _settled_after(
            whole, risk.phrase, self.settings.tentative_words_after_phrase
        )
        if not (settled or heard_twice):
            return None
        return self._risk_cue(
            participant_id, role, whole, at_s, risk, judgement, heard_as="settled" if settled else "tentative"
        )

    def series(self, participant_id: str) -> list[tuple[float, float]]:
        return self.sentiment.series(participant_id)

    def act_tally(self, participant_id: str | None = None) -> ListeningTally:
        return self.acts.tally(participant_id)

    def _risk_cue(
        self,
        participant_id: str,
        role: str,
        text: str,
        at_s: float,
        risk: RiskFinding,
        judgement: CrisisJudgement | None = None,
        heard_as: str | None = None,
    ) -> Cue | None:
        if risk.level is Severity.NOTICE:
            key = (participant_id, risk.rule)
            last = self._last_notice.get(key)
            if last is not None and at_s - last < self.settings.notice_repeat_s:
                return None
            self._last_notice[key] = at_s
        who = role.capitalize() if role else "Participant"
        quote = _quote(text)
        lead = "Possible crisis" if risk.level is Severity.URGENT else "Worth checking"
        if judgement is not None and judgement.verdict is Verdict.MODEL_NOTICE:
            sentence = f"{lead}: {who} may be speaking of a crisis in words no rule matched: \u201c{quote}\u201d"
        else:
            what = _CATEGORY_WORDS[risk.category] + _FRAME_WORDS[risk.frame]
            sentence = f"{lead}: {who} used {what}: \u201c{quote}\u201d"
        evidence: dict[str, object] = {
            "line": text,
            "phrase": risk.phrase,
            "category": risk.category.value,
            "frame": risk.frame.value,
            "rule": risk.rule,
        }
        if judgement is not None:
            evidence.update(_vote_evidence(judgement))
        if heard_as is not None:
            # Raised while the sentence was still being spoken: from settled words or tentative ones.
            evidence["heard_as"] = heard_as
        return Cue(
            at_s=at_s,
            participant_id=participant_id,
            kind="words.risk",
            severity=risk.level,
            sentence=sentence,
            evidence=evidence,
        )

    def _set_aside_cue(
        self, participant_id: str, role: str, text: str, at_s: float, judgement: CrisisJudgement
    ) -> Cue:
        rules = judgement.rules
        assert rules is not None  # only rule hits are set aside
        who = role.capitalize() if role else "Participant"
        return Cue(
            at_s=at_s,
            participant_id=participant_id,
            kind="words.risk_set_aside",
            severity=Severity.INFO,
            sentence=f"Set aside: {who} said \u201c{rules.phrase}\u201d; {judgement.reason}",
            evidence={
                "line": text,
                "phrase": rules.phrase,
                "category": rules.category.value,
                "frame": rules.frame.value,
                "rule": rules.rule,
                **_vote_evidence(judgement),
            },
        )


def _settled_after(text: str, phrase: str, words: int) -> bool:
    """Whether the phrase's last occurrence in ``text`` is complete: ``words`` words follow it, or its
    sentence ends right after it ("... end it all." negates nothing later)."""
    at = text.lower().rfind(phrase.lower()) if phrase else -1
    if at < 0:
        return False
    rest = text[at + len(phrase) :]
    return len(_keys(rest)) >= words or rest.lstrip("\"')] ").startswith((".", "?", "!", "…"))


def _holds(text: str, phrase: str) -> bool:
    """Whether ``text`` has the phrase as whole words (case and punctuation aside)."""
    words, wanted = _keys(text), _keys(phrase)
    n = len(wanted)
    return n > 0 and any(words[i : i + n] == wanted for i in range(len(words) - n + 1))


def _keys(text: str) -> list[str]:
    return [key for key in map(word_key, text.split()) if key]


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1] + "…"


def _vote_evidence(judgement: CrisisJudgement) -> dict[str, object]:
    rules = judgement.rules
    return {
        "verdict": judgement.verdict.value,
        "model_probability": round(judgement.probability, 3),
        "rules_level": None if rules is None else rules.level.value,
        "reason": judgement.reason,
    }
