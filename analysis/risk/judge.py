"""The judge: finds every rule match in a line and reads it in its context, then reports the most
serious finding.

Crisis-language detection for caption lines: suicide, self-harm, harm to others, abuse, being unsafe.

A linguistic rule engine, not a keyword list. Each line is tokenised (contractions expanded, so
"won't" and "will not" read the same), idioms are neutralised first ("this traffic is killing me",
"I could just die of embarrassment"), then warning-sign patterns are matched and every match is judged
in its context:

- negation in the same clause ("I would never hurt myself") drops it; negation with "anymore" /
  "no longer" ("I don't want to die anymore") is a resolved risk and stays a notice;
- who it is about: first person stays at its level; a third party ("my friend said she wanted to die")
  is a notice, because a friend at risk or a suicide in the family is itself a risk factor the counselor
  wants to hear about; a third party inside a film/book/news frame ("that movie where he kills himself")
  is dropped; generic "you" ("sometimes you just want to end it all") is a notice;
- the remote or resolved past ("I used to cut, not anymore", "when I was fifteen") is a notice, unless
  something recent overrides it ("again last night");
- a hypothetical if-clause ("if I ever wanted to hurt myself I would call you") is a notice, while a
  conditional threat ("if she leaves I'll kill myself") stays urgent.

Why rules and not an embedding model: no sentence encoder ships its weights inside a PyPI package and
runs without torch, and a counselor has to be able to see *why* an alert fired; every finding carries
the rule name and the frame it was judged in. The rules were written from the warning signs published by
NIMH/988 Lifeline, AFSP and the NHS, and the C-SSRS and PHQ-9 item wordings (see
tests/data/crisis/SOURCE.md); `python -m bench.crisis` measures them on the labelled set.

Pure code: no I/O, no clock; well under a millisecond per line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from analysis.events import Severity
from analysis.risk import abuse, harm_to_others, self_harm, suicide, unsafe
from analysis.risk.findings import Frame, RiskCategory, RiskFinding
from analysis.risk.lexicons import (
    ACCIDENT_RE,
    CHILD_RE,
    CLAUSE_BREAK,
    EMBEDDING_VERBS,
    FICTION_RE,
    FIRST_PERSON_WORDS,
    HEDGE_RE,
    HYPOTHETICAL,
    MODALS,
    NEGATION_RELEASERS,
    NEGATORS,
    PAST_RE,
    POST_NEGATION_RE,
    RECENT_RE,
    RELAPSE_RE,
    RESOLVED_RE,
    SECOND_PERSON_WORDS,
    STOPPED_RE,
    THIRD_PERSON_WORDS,
    blank_idioms,
)
from analysis.risk.rules import Rule
from analysis.risk.tokens import SENTENCE_END, Sentence, phrase_of, sentences, token_index, tokenise

RULES: tuple[Rule, ...] = suicide.RULES + self_harm.RULES + harm_to_others.RULES + abuse.RULES + unsafe.RULES

_LEVEL_RANK = {None: 0, Severity.INFO: 1, Severity.NOTICE: 2, Severity.URGENT: 3}


def _demote(level: Severity) -> Severity | None:
    return Severity.NOTICE if level is Severity.URGENT else None


def _person_of(word: str) -> Frame | None:
    if word in FIRST_PERSON_WORDS or word == "my":
        return Frame.FIRST_PERSON
    if word in SECOND_PERSON_WORDS or word == "your":
        return Frame.GENERIC_YOU
    if word in THIRD_PERSON_WORDS or word in ("his", "their"):
        return Frame.THIRD_PARTY
    return None


def _subject_frame(sentence: Sentence, first: int) -> Frame:
    """Who the words before a match are about: the nearest person word looking back (8 tokens)."""
    for i in range(first - 1, max(-1, first - 9), -1):
        tok = sentence.tokens[i]
        if tok.norm in FIRST_PERSON_WORDS:
            return Frame.FIRST_PERSON
        if tok.norm in SECOND_PERSON_WORDS:
            return Frame.GENERIC_YOU
        if tok.norm in THIRD_PERSON_WORDS:
            return Frame.THIRD_PARTY
        if tok.capitalised and i > 0 and tok.norm != "i" and tok.norm.isalpha():
            return Frame.THIRD_PARTY  # a name mid-sentence
    return Frame.FIRST_PERSON  # "just want to die": spoken about oneself


def _clause_start(sentence: Sentence, first: int) -> int:
    for i in range(first - 1, -1, -1):
        if sentence.tokens[i].norm in CLAUSE_BREAK:
            return i + 1
    return 0


def _is_negated(sentence: Sentence, first: int) -> bool:
    start = max(_clause_start(sentence, first), first - 6)
    for i in range(start, first):
        if sentence.tokens[i].norm in NEGATORS:
            nxt = sentence.tokens[i + 1].norm if i + 1 < len(sentence.tokens) else ""
            if nxt not in NEGATION_RELEASERS:
                return True
    return False


def _is_hypothetical(sentence: Sentence, first: int) -> bool:
    """True when the match sits inside an if-clause ("if I ever wanted to hurt myself")."""
    toks = [t.norm for t in sentence.tokens]
    for i in range(first - 1, -1, -1):
        if toks[i] in HYPOTHETICAL:
            if i > 0 and toks[i - 1] in EMBEDDING_VERBS:
                # "what if I just ended it all?", "I wonder if ...": rumination, not a hypothetical
                return False
            between = toks[i + 1 : first]
            if "," in between or "then" in between:
                return False
            # a fresh "I will / I would" after the if-clause starts the main clause
            for j in range(1, len(between) - 1):
                if between[j] == "i" and between[j + 1] in MODALS:
                    return False
            return True
        if toks[i] in SENTENCE_END:
            break
    return False


def _outside(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


class RiskDetector:
    """Judges one caption line at a time. Stateless; `context` is the speaker's previous line(s)."""

    def assess(self, text: str, context: Sequence[str] = ()) -> RiskFinding | None:
        """The most serious finding in ``text`` (the first of equal rank), or None."""
        best: RiskFinding | None = None
        for finding in self.findings(text, context):
            if _LEVEL_RANK[finding.level] > _LEVEL_RANK[best.level if best else None]:
                best = finding
        return best

    def findings(self, text: str, context: Sequence[str] = ()) -> list[RiskFinding]:
        """Every rule match in ``text`` that survives the judging, in rule order."""
        tokens = tokenise(text)
        if not tokens:
            return []
        line_norm = " ".join(t.norm for t in tokens)
        context_norm = " ".join(" ".join(t.norm for t in tokenise(c)) for c in context)
        fiction = bool(FICTION_RE.search(line_norm) or FICTION_RE.search(context_norm))
        found: list[RiskFinding] = []
        for sentence in sentences(tokens):
            searchable = blank_idioms(sentence.text)
            for rule in RULES:
                for m in rule.regex.finditer(searchable):
                    finding = self._judge(rule, m, sentence, fiction, text)
                    if finding is not None:
                        found.append(finding)
        return found

    def _judge(
        self, rule: Rule, m: re.Match[str], sentence: Sentence, fiction: bool, text: str
    ) -> RiskFinding | None:
        first = token_index(sentence, m.start())
        last = token_index(sentence, m.end() - 1)
        phrase_tokens = sentence.tokens[first : last + 1]
        line_phrase = phrase_of(text, phrase_tokens)
        rest = _outside(sentence.text, m.start(), m.end())

        level: Severity | None = rule.level
        frame = Frame.FIRST_PERSON

        if rule.accident_prone and ACCIDENT_RE.search(rest):
            return None
        if rule.topic and fiction:
            return None

        # who is it about
        groups = m.groupdict()
        who = groups.get("who")
        if rule.person == "first":
            frame = Frame.FIRST_PERSON
        elif who is not None:
            frame = _person_of(who.split()[0]) or Frame.THIRD_PARTY
            if rule.category is RiskCategory.ABUSE and who.startswith(("my ", "the ")):
                # children in the client's care count as the client's own safety; other adults do not
                frame = Frame.FIRST_PERSON if CHILD_RE.search(who) else Frame.THIRD_PARTY
        else:
            frame = _subject_frame(sentence, first)
        if rule.category is RiskCategory.ABUSE and who is None and rule.person != "first":
            frame = _victim_frame(sentence, last)

        if frame is Frame.FIRST_PERSON and _stopped(sentence, first, m.group(0)) and not RELAPSE_RE.search(rest):
            return RiskFinding(Severity.NOTICE, rule.category, line_phrase, rule.name, Frame.RESOLVED)

        if rule.negatable and (_is_negated(sentence, first) or POST_NEGATION_RE.match(sentence.text[m.end() :])):
            if frame is Frame.FIRST_PERSON and RESOLVED_RE.search(rest):
                return RiskFinding(Severity.NOTICE, rule.category, line_phrase, rule.name, Frame.RESOLVED)
            return None

        if frame is Frame.THIRD_PARTY:
            if fiction:
                return None
            level = _demote(rule.level)
        elif frame is Frame.GENERIC_YOU:
            level = _demote(rule.level)
        if level is None:
            return None

        if frame is Frame.FIRST_PERSON:
            if PAST_RE.search(rest) and not RECENT_RE.search(rest):
                level, frame = _demote(level), Frame.PAST
            elif _is_hypothetical(sentence, first):
                level, frame = _demote(level), Frame.HYPOTHETICAL
            elif rule.category is RiskCategory.HARM_OTHERS and (HEDGE_RE.search(m.group(0))):
                level, frame = _demote(level), Frame.HEDGED
        if level is None:
            return None
        return RiskFinding(level, rule.category, line_phrase, rule.name, frame)


def _stopped(sentence: Sentence, first: int, matched: str) -> bool:
    """ "I stopped cutting", "I quit self-harming": a behaviour the speaker says is over."""
    before = {t.norm for t in sentence.tokens[max(0, first - 2) : first]}
    return bool(STOPPED_RE.match(matched)) or bool(before & {"stopped", "quit", "quitting"})


def _victim_frame(sentence: Sentence, last: int) -> Frame:
    after = [t.norm for t in sentence.tokens[last + 1 : last + 3]]
    before = [t.norm for t in sentence.tokens[max(0, last - 8) : last + 1]]
    if "me" in before or "me" in after or "i" in before or "us" in after:
        return Frame.FIRST_PERSON
    if any(w in THIRD_PERSON_WORDS for w in after) or any(w in ("her", "him", "them") for w in before[-2:]):
        return Frame.THIRD_PARTY
    return Frame.FIRST_PERSON


