"""Harm to others: threats or intentions to hurt or kill someone (angry, hedged wishes are a notice)."""

from __future__ import annotations

from analysis.events import Severity
from analysis.risk.findings import RiskCategory
from analysis.risk.rules import Rule, in_category, rule

URGENT = Severity.URGENT

RULES: tuple[Rule, ...] = in_category(
    RiskCategory.HARM_OTHERS,
    (
        rule(
            "harm_other",
            URGENT,
            r"i (?:\w+ ){0,3}?(?:kill|killing|hurt|hurting|stab|stabbing|shoot|shooting|"
            r"strangle|strangling|choke|choking|attack|attacking|beat up|beating up|murder|murdering|poison|"
            r"poisoning) (?P<victim>him|her|them|you|my (?:\w+)|someone|somebody|people|everyone|everybody|"
            r"that (?:guy|man|woman|girl|bitch|bastard)|the (?:kids|baby|guy))",
            person="first",
            examples=("I'm going to kill him.",),
        ),
        rule(
            "thoughts_harm_other",
            URGENT,
            r"(?:thoughts|thinking|think|thought|urges?|fantasi\w+|dreams?) "
            r"(?:about|of) (?:hurting|killing|stabbing|shooting|attacking|strangling|poisoning) (?:him|her|"
            r"them|someone|somebody|people|my \w+|the baby|the kids|you)",
            examples=("I've been having thoughts about hurting my baby.",),
        ),
        rule(
            "mass_violence",
            URGENT,
            r"(?:shoot|shooting|bomb|blow) up (?:the|my|this|that) (?:school|office|"
            r"work|place|class|building|church|mall)|bring a gun to (?:school|work|class)",
            examples=("I want to shoot up the school.",),
        ),
    ),
)
