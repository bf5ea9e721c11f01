"""What the crisis-language rules report: the category, the frame a match was judged in, the finding."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from analysis.events import Severity


class RiskCategory(StrEnum):
    SUICIDE = "suicide"
    SELF_HARM = "self_harm"
    HARM_OTHERS = "harm_others"
    ABUSE = "abuse"
    UNSAFE = "unsafe"


class Frame(StrEnum):
    """The context a match was judged in; shown to the counselor as part of the evidence."""

    FIRST_PERSON = "first_person"
    THIRD_PARTY = "third_party"
    GENERIC_YOU = "generic_you"
    PAST = "past"
    RESOLVED = "resolved"
    HYPOTHETICAL = "hypothetical"
    HEDGED = "hedged"


@dataclass(frozen=True, slots=True)
class RiskFinding:
    level: Severity  # URGENT or NOTICE; lines with nothing to report give None, not a finding
    category: RiskCategory
    phrase: str  # the matched words, as spoken (original casing and punctuation)
    rule: str
    frame: Frame
