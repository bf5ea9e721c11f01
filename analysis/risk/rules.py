"""A crisis-language rule: a phrase pattern with its category, level and how the judge reads it, plus the
shared pattern fragments (who, whose, an abuser, a victim). The rules themselves live in one module per
category (``suicide``, ``self_harm``, ``harm_to_others``, ``abuse``, ``unsafe``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from analysis.events import Severity
from analysis.risk.findings import RiskCategory

SELF = r"(?P<who>myself|himself|herself|themselves|themself|yourself|ourselves)"
POSSESSIVE = r"(?P<who>my|his|her|their|your)"
AGENT = (
    r"(?:he|she|they|husband|wife|partner|boyfriend|girlfriend|ex|dad|father|mom|mum|mother|stepdad|"
    r"stepfather|stepmom|stepmother|uncle|aunt|brother|sister|boss|coach|teacher|parents|grandpa|"
    r"grandfather|cousin|roommate|someone|somebody|man|guy)"
)
VICTIM = (
    r"(?P<who>me|us|her|him|them|my (?:mom|mum|mother|sister|brother|kids?|children|son|daughter|baby)|"
    r"the (?:kids|children|baby))"
)


# "cut" that is not self-harm: "cut back", "cut the grass", "cut ties"
NOT_A_CUT = (
    r"(?! (?:the|it|my hair|back|down|out|in|off|class|school|ties|him|her|them|you|corners|carbs|sugar|onions?|"
    r"hair|someone|people|a|an|that|this|up|through|costs)\b)"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """``person``: "subject" looks back for who the match is about; "first" is fixed by the pattern.
    ``accident_prone``: an accident context ("I cut myself cooking") cancels it. ``topic``: a bare noun
    ("self-harm") that, in a film or news frame, is the topic rather than a disclosure. ``examples``:
    lines the rule fires on (checked by the tests)."""

    name: str
    category: RiskCategory
    level: Severity
    regex: re.Pattern[str]
    negatable: bool = True
    person: str = "subject"
    accident_prone: bool = False
    topic: bool = False
    examples: tuple[str, ...] = ()


# Placeholder until ``in_category`` sets the rule's module's category.
_UNSET = RiskCategory.UNSAFE


def rule(
    name: str,
    level: Severity,
    pattern: str,
    *,
    negatable: bool = True,
    person: str = "subject",
    accident_prone: bool = False,
    topic: bool = False,
    examples: tuple[str, ...] = (),
) -> Rule:
    # The group matters: without it the word boundaries bind to the first and last alternatives only, and
    # "od on" matched inside "good one" and "food on".
    regex = re.compile(r"\b(?:" + pattern + r")\b")
    return Rule(name, _UNSET, level, regex, negatable, person, accident_prone, topic, examples)


def in_category(category: RiskCategory, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    return tuple(replace(r, category=category) for r in rules)
