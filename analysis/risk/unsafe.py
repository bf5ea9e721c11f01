"""Being unsafe: fear for one's life or safety, danger at home."""

from __future__ import annotations

from analysis.events import Severity
from analysis.risk.findings import RiskCategory
from analysis.risk.rules import Rule, in_category, rule

URGENT = Severity.URGENT

RULES: tuple[Rule, ...] = in_category(
    RiskCategory.UNSAFE,
    (
        rule(
            "not_safe",
            URGENT,
            r"(?:do not|not|never|no longer) (?:feel )?safe (?:at home|here|with him|with "
            r"her|with them|in my (?:own )?home|in (?:the|my) house|around him|around her|going home)|"
            r"i (?:do not|no longer|never) feel safe|i am not safe",
            negatable=False,
            person="first",
            examples=("I don't feel safe at home.",),
        ),
        rule(
            "afraid_of_harm",
            URGENT,
            r"(?:afraid|scared|terrified|frightened|fear|worried) (?:that )?(?:he|she|"
            r"they|my \w+) (?:is|are|will|might|would|is going to|are going to)? ?(?:going to )?(?:kill|hurt|"
            r"hit|find|beat) (?:me|us|my)",
            person="first",
            examples=("I'm afraid he's going to kill me.",),
        ),
        rule(
            "fear_for_life",
            URGENT,
            r"(?:fear|afraid|scared|terrified) for (?:my|our) (?:life|lives|safety)|"
            r"(?:afraid|scared|terrified) to go home",
            person="first",
            examples=("I'm scared to go home tonight.",),
        ),
        rule(
            "in_danger",
            URGENT,
            r"i am in danger|(?:he|she|they) (?:has|have|got) a (?:gun|knife) and "
            r"(?:he |she |they )?(?:said|says|threatened|would|will)",
            person="first",
            examples=("He has a gun and he said he'd use it.",),
        ),
    ),
)
