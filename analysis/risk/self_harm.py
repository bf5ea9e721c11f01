"""Self-harm: cutting, burning, hitting oneself, urges to hurt oneself. "I cut myself cooking" is an
accident, not a disclosure: those rules are ``accident_prone``."""

from __future__ import annotations

from analysis.events import Severity
from analysis.risk.findings import RiskCategory
from analysis.risk.rules import NOT_A_CUT, POSSESSIVE, SELF, Rule, in_category, rule

NOTICE = Severity.NOTICE
URGENT = Severity.URGENT

RULES: tuple[Rule, ...] = in_category(
    RiskCategory.SELF_HARM,
    (
        rule(
            "harm_self",
            URGENT,
            r"(?:hurt|hurting|hurts|harm|harming|harmed|harms|cut|cutting|cuts|burn|burning|"
            r"burned|burnt|burns|scratch|scratching|scratched|punish|punishing|mutilate|mutilating|bruise|"
            r"bruising|hit|hitting) " + SELF,
            accident_prone=True,
            examples=("I cut myself last night.",),
        ),
        rule(
            "starve_self",
            NOTICE,
            r"(?:starve|starving|starved|make|making|made) " + SELF + r"(?: (?:throw up|sick|vomit|bleed))?",
            examples=("I've been starving myself.",),
        ),
        rule(
            "self_harm",
            URGENT,
            r"self (?:harm|harming|harmed|injury|injuring|injure|mutilation)",
            topic=True,
            examples=("I self-harm when it gets bad.",),
        ),
        rule(
            "cut_body",
            URGENT,
            r"(?:cut|cutting|cuts|slit|slitting|slash|slashing|burn|burning|burned|carve|"
            r"carving|carved|scratch\w*) (?:into )?" + POSSESSIVE + r" (?:arms?|wrists?|legs?|thighs?|skin|stomach|"
            r"hips?)",
            accident_prone=True,
            examples=("I burned my arm with a lighter on purpose.",),
        ),
        rule(
            "cutting_habit",
            URGENT,
            r"(?:started|start|been|keep|kept|relapsed|relapse|back to|stop|stopped|quit|quitting|"
            r"used to|urges? to|urge to|want to|wanted to|need to|needed to|feel like|felt like|"
            r"thinking about|think about) (?:on |into )?(?:cutting|cut|self harming)" + NOT_A_CUT,
            examples=("I've been cutting again.",),
        ),
        rule(
            "urge_hurt_self",
            URGENT,
            r"(?:urges?|want|wanted|need|needed) to (?:hurt|harm|punish) (?:my ?self|"
            r"me)",
            person="first",
            examples=("I get these urges to hurt myself.",),
        ),
    ),
)
