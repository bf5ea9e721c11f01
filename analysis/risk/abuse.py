"""Abuse: the client (or a child in their care) hurt, threatened or controlled by someone else."""

from __future__ import annotations

from analysis.events import Severity
from analysis.risk.findings import RiskCategory
from analysis.risk.rules import AGENT, VICTIM, Rule, in_category, rule

NOTICE = Severity.NOTICE
URGENT = Severity.URGENT

RULES: tuple[Rule, ...] = in_category(
    RiskCategory.ABUSE,
    (
        rule(
            "physical_abuse",
            URGENT,
            AGENT + r" (?:\w+ ){0,3}?(?:hits?|hitting|beats?|beating|beat|punch\w*|"
            r"kicks?|kicked|kicking|slap\w*|chok\w+|strangl\w+|shov\w+|push\w*|throws things at|threw things "
            r"at|burned|burns|whips?|whipped|drags?|dragged|physically hurts?|physically hurt|hurts? "
            r"(?:me|us) when|raped|rapes|molested|molests|sexually assaulted|assaulted|touched|touches) " + VICTIM,
            examples=("He hits me when he drinks.",),
        ),
        rule(
            "abuse_disclosure",
            URGENT,
            r"(?:raped|molested|sexually (?:assaulted|abused)|abused|abusing|abuses|"
            r"touched me (?:inappropriately|down there|sexually|where)|makes? me do (?:sexual )?things)(?: me)?",
            examples=("I was raped.",),
        ),
        rule(
            "being_abused",
            URGENT,
            r"i (?:am|was|have been|am being|was being|got) (?:being )?(?:abused|raped|"
            r"assaulted|molested|beaten|hit|choked|strangled|groomed)",
            person="first",
            accident_prone=True,
            examples=("I am being abused at home.",),
        ),
        rule(
            "threat_to_kill_me",
            URGENT,
            r"(?:threaten\w*|said|says|told me|swore|promised) (?:that )?(?:to |"
            r"he|she|they)? ?(?:would |will |is going to |was going to |is gonna )?(?:kill|hurt|shoot|stab|"
            r"find|take) (?P<who>me|us|my (?:kids|children|son|daughter|mom|family|dog|cat|pets?)|the (?:kids|children|"
            r"baby))",
            examples=("He threatened to kill me if I leave.",),
        ),
        rule(
            "going_to_kill_me",
            NOTICE,
            r"(?:going to|will|would|wants? to|tried to|try to|tries to) "
            r"(?:kill|shoot|stab|strangle) (?P<who>me|us)(?! (?:if|when|for|because))",
            examples=("He said he's going to kill me.",),
        ),
        rule(
            "kill_me_if_i_leave",
            URGENT,
            r"(?:kill|hurt|find) (?:me|us) if i (?:ever )?(?:leave|left|tell|told|"
            r"try|tried|go to|went to|call|called|report|reported|run|ran|say anything|talk)",
            person="first",
            examples=("He said he would kill me if I leave.",),
        ),
        rule(
            "controlling",
            NOTICE,
            r"(?:will not|does not|do not|never) let me (?:leave|see|go out|have (?:any )?"
            r"money|talk to|use (?:my|the) phone|out of)|(?:takes|took|controls|checks) (?:all )?my (?:money|"
            r"phone|paycheck|keys)",
            negatable=False,
            person="first",
            examples=("He won't let me leave the house.",),
        ),
    ),
)
