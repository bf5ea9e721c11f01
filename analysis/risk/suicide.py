"""Suicide: direct statements, wishes to be dead or not to exist, plans and means, goodbyes, hopelessness.

Phrasings follow the warning signs published by NIMH/988 Lifeline, AFSP and the NHS, and the C-SSRS and
PHQ-9 item wordings (tests/data/crisis/SOURCE.md). Each rule's ``examples`` are lines it fires on.
"""

from __future__ import annotations

from analysis.events import Severity
from analysis.risk.findings import RiskCategory
from analysis.risk.rules import POSSESSIVE, SELF, Rule, in_category, rule

NOTICE = Severity.NOTICE
URGENT = Severity.URGENT

RULES: tuple[Rule, ...] = in_category(
    RiskCategory.SUICIDE,
    (
        rule(
            "kill_self",
            URGENT,
            r"(?:kill|killing|killed|kills|hang|hanging|hanged|hangs|shoot|shooting|shot|"
            r"shoots|drown|drowning|drowned|off|offing|offed|end|ending|ended) " + SELF,
            examples=("I've been thinking about killing myself.",),
        ),
        rule(
            "take_own_life",
            URGENT,
            r"(?:take|taking|took|takes|end|ending|ended|ends) " + POSSESSIVE + r" (?:own )?life",
            examples=("I want to take my own life.",),
        ),
        rule(
            "end_it_all",
            URGENT,
            r"(?:end|ending|ended|finish|finishing) (?:it all|everything|it for good|"
            r"my existence|things(?! with))",
            examples=("I want to end it all.",),
        ),
        rule(
            "end_it",
            NOTICE,
            r"(?:(?:want|wanted|going|thinking about|think about|ready) to|should (?:just )?) "
            r"end it(?= [.!?;,]|$)",
            examples=("If this doesn't work out, I'm going to end it.",),
        ),
        rule(
            "suicide_act",
            URGENT,
            r"(?:commit|committing|committed|commits|attempt|attempting|attempted|"
            r"attempts|tried|try|trying) (?:to commit )?suicide",
            examples=("I attempted suicide back in 2015.",),
        ),
        rule(
            "suicide_attempt",
            URGENT,
            r"suicide attempts?",
            topic=True,
            examples=("After my suicide attempt last spring nobody talks to me.",),
        ),
        rule(
            "suicidal",
            URGENT,
            r"suicidal",
            topic=True,
            examples=("I feel suicidal most days.",),
        ),
        rule(
            "suicide_thoughts",
            URGENT,
            r"(?:thinking|think|thought|thoughts|considering|considered|"
            r"contemplating|contemplated) (?:about |of )?(?:suicide|dying|death and dying|not being here|"
            r"not being alive|not existing|ending it|ending things)",
            examples=("I keep thinking about suicide.",),
        ),
        rule(
            "want_to_die",
            URGENT,
            r"(?:want|wanted|wanting|wants|ready|wish|wished|wishing|deserve|"
            r"deserved|deserves) (?:\w+ )?to (?:just )?die",
            examples=("I just want to die.",),
        ),
        rule(
            "wish_dead",
            URGENT,
            r"wish(?:ed|es|ing)? (?:that )?(?P<who>i|he|she|they|you) (?:was|were|had been|"
            r"would be|could be) (?:dead|gone)",
            examples=("Sometimes I wish I was dead.",),
        ),
        rule(
            "wish_never_born",
            URGENT,
            r"wish(?:ed|ing)? (?:that )?i (?:had|would have|would) never been born",
            person="first",
            examples=("I wish I'd never been born.",),
        ),
        rule(
            "wish_not_exist",
            URGENT,
            r"(?:wish|wished|wishing|want|wanted) (?:that )?(?:i could )?(?:i )?"
            r"(?:did not|would not|could just stop|could stop|would stop|to stop|to just stop) (?:exist|existing)",
            person="first",
            examples=("Some days I wish I could just stop existing.",),
        ),
        rule(
            "sleep_not_wake",
            URGENT,
            r"(?:sleep|asleep|bed|go to sleep) and (?:just )?(?:not|never) wake up|"
            r"(?:want|wanted|wish|wishing) (?:i could |to )?(?:just )?(?:go to )?sleep forever",
            examples=("I wish I could go to sleep and not wake up.",),
        ),
        rule(
            "feel_like_dying",
            URGENT,
            r"(?:feel|feeling|felt) like (?:dying|i (?:want|wanna) to die|ending it)",
            examples=("Most nights I feel like dying.",),
        ),
        rule(
            "hope_not_wake",
            URGENT,
            r"(?:hope|hoping|wish|wishing|pray|praying) (?:that )?i (?:do not|would not|"
            r"will not|never|could just not|could not) wake up",
            person="first",
            examples=("I hope I don't wake up tomorrow.",),
        ),
        rule(
            "better_off_dead",
            URGENT,
            r"better off dead",
            examples=("I've had thoughts that I'd be better off dead.",),
        ),
        rule(
            "better_off_without_me",
            URGENT,
            r"better (?:off )?without (?P<who>me|him|her|them)",
            negatable=False,
            examples=("Everyone would be better off without me.",),
        ),
        rule(
            "easier_if_gone",
            URGENT,
            r"(?:easier|better) (?:for (?:everyone|everybody|them|you|all) )?if i "
            r"(?:was|were|am|was not|were not|just) (?:dead|gone|not here|not around|here|around|disappeared)",
            negatable=False,
            person="first",
            examples=("It would be easier for everyone if I wasn't here.",),
        ),
        rule(
            "when_im_gone",
            URGENT,
            r"(?:things|everything|it|life) will be (?:better|easier) (?:for "
            r"(?:everyone|everybody|them|you) )?(?:when|once|after) i am (?:gone|dead|not here)",
            negatable=False,
            person="first",
            examples=("Things will be better for everyone when I'm gone.",),
        ),
        rule(
            "not_want_live",
            URGENT,
            r"(?:not|never) (?:(?:think|know if|feel like|sure) (?:that )?(?:i )?)?"
            r"(?:really |even )?(?:want|wanna) to (?:live|be alive|exist|keep living|go on living|"
            r"be here (?:any ?more|any longer)|be on this earth|be in this world|wake up)",
            negatable=False,
            examples=("I don't want to be alive anymore.",),
        ),
        rule(
            "no_reason_to_live",
            URGENT,
            r"(?:no|any|not see a|not see any|not see the) (?:reason|point) "
            r"(?:for me )?(?:to live|"
            r"in living|to go on|in going on|to keep going|to be alive|to keep living|in being alive)",
            negatable=False,
            examples=("I don't see any reason to live.",),
        ),
        rule(
            "nothing_to_live_for",
            URGENT,
            r"(?:nothing|no one|nobody) (?:left )?to live for",
            negatable=False,
            examples=("There's nothing left to live for.",),
        ),
        rule(
            "life_not_worth",
            URGENT,
            r"(?:life|living|it) (?:is|is just|feels|does not feel) not worth (?:living|it "
            r"any ?more)|not worth living",
            negatable=False,
            examples=("Life isn't worth living.",),
        ),
        rule(
            "point_of_living",
            URGENT,
            r"what is the point (?:of|in) (?:living|life|being alive|going on|"
            r"waking up|me being here)",
            examples=("What's the point of living?",),
        ),
        rule(
            "cant_go_on_living",
            URGENT,
            r"can not (?:go on|keep) living",
            negatable=False,
            examples=("I'm so tired of life, I just can't go on living like this.",),
        ),
        rule(
            "cant_go_on",
            NOTICE,
            r"can not (?:go on|keep going|do this any ?more|take (?:it|this) any ?more|"
            r"take much more)",
            negatable=False,
            examples=("I can't take it anymore.",),
        ),
        rule(
            "tired_of_living",
            URGENT,
            r"(?:tired|sick|done) (?:of|with) (?:living|being alive|life|existing|"
            r"my life|being here)",
            examples=("I'm tired of living.",),
        ),
        rule(
            "not_around_long",
            URGENT,
            r"(?:not|never) (?:going to )?be (?:around|here|a burden|a problem|bothering "
            r"(?:anyone|you|anybody)|in your way|your problem) (?:much|for much|for|any) ?(?:longer|long|more|"
            r"soon)",
            negatable=False,
            examples=("I won't be a burden much longer.",),
        ),
        rule(
            "last_time_see",
            URGENT,
            r"last time (?:you will|anyone will|you are going to) (?:see|hear from) me",
            negatable=False,
            person="first",
            examples=("This is the last time you'll hear from me.",),
        ),
        rule(
            "goodbye_forever",
            URGENT,
            r"(?:saying|said|say) (?:my )?goodbyes? (?:to (?:everyone|everybody|"
            r"all|my (?:family|friends|kids)|people)|for good|forever)|goodbye (?:forever|for good)",
            examples=("I've been saying goodbye to everyone.",),
        ),
        rule(
            "giving_things_away",
            URGENT,
            r"(?:giving|gave|give|given) (?:away )?(?:\w+ ){0,6}?(?:my|his|her) "
            r"(?:things|stuff|belongings|possessions|valuables|prized|favou?rite|most important)(?: \w+)?"
            r"(?: away)?",
            examples=("I've been giving my things away.",),
        ),
        rule(
            "affairs_in_order",
            NOTICE,
            r"(?:put|putting|get|getting|got) (?:all )?my affairs in order|"
            r"(?:writing|wrote|made|make|making) (?:out )?my will",
            examples=("I've been putting my affairs in order.",),
        ),
        rule(
            "suicide_note",
            URGENT,
            r"suicide (?:note|letter)|goodbye (?:note|letter)s?|(?:wrote|writing|"
            r"written|write) (?:a |my )?(?:last |final )?(?:note|letter)s? (?:for|to) (?:my|everyone|"
            r"everybody|when)",
            examples=("I wrote a goodbye letter to my kids.",),
        ),
        rule(
            "plan",
            URGENT,
            r"(?:have|had|made|make|making|got|working on|worked out|figured out|thought "
            r"about) (?:a|my|the) (?:plan|way|method|date) (?:to|for|of) (?:how to )?(?:kill|end|die|do it|"
            r"ending|killing|dying)",
            examples=("I have a plan to end it.",),
        ),
        rule(
            "know_how_do_it",
            URGENT,
            r"know (?:exactly )?(?:how|when|where) i (?:would|will|am going to|"
            r"could) do it",
            person="first",
            examples=("I know how I would do it.",),
        ),
        rule(
            "stockpile",
            URGENT,
            r"(?:stockpil\w+|saving up|saving|hoarding|collecting|stashing|stashed|"
            r"saved up|saved) (?:up )?(?:my |some |all my |a bunch of )?(?:pills|meds|medication|medications|"
            r"tablets|sleeping pills|painkillers)",
            examples=("I've been saving up my pills.",),
        ),
        rule(
            "how_many_pills",
            URGENT,
            r"how many (?:pills|tablets|of these|of my pills) (?:it would take|would "
            r"it take|it takes|does it take|to take)",
            examples=("I've been looking up how many pills it would take.",),
        ),
        rule(
            "ways_to_die",
            URGENT,
            r"(?:ways|how|methods) to (?:die|kill myself|end (?:it|my life)|commit suicide|"
            r"overdose|hang myself)|painless (?:way|ways) to die",
            examples=("I've been researching painless ways to die.",),
        ),
        rule(
            "overdose",
            URGENT,
            r"overdos\w+|od on|(?:took|take|taking|swallowed|taken) (?:all (?:of )?(?:my|the)|a bunch of|a lot of|"
            r"too many|a handful of|the whole (?:bottle|pack|box) of|loads of|every one of) (?:my |the )?"
            r"(?:pills|tablets|meds|medication|painkillers|sleeping pills)",
            examples=("I took all my pills on Saturday but I woke up.",),
        ),
        rule(
            "crash_on_purpose",
            URGENT,
            r"(?:drive|driving|drove|steer|steering|crash|crashing|crashed) (?:my|the) car (?:off|into) (?:the road|a "
            r"(?:tree|wall|bridge|truck)|the (?:river|wall|bridge|lake|barrier|oncoming))|"
            r"(?:crash|crashing) (?:my|the) car on purpose",
            examples=("I keep thinking about driving my car into a tree.",),
        ),
        rule(
            "means_on_self",
            URGENT,
            r"(?:use|using|used|turn|turning|point|pointing) (?:it|the gun|a gun|my gun|the knife|a knife|the "
            r"razor) (?:on|at) myself",
            person="first",
            examples=("I wanted to turn the gun on myself.",),
        ),
        rule(
            "death_preoccupation",
            NOTICE,
            r"(?:think|thinking|thought|obsess\w*|preoccupied|fixated) (?:about|with|on) "
            r"(?:death|dying)",
            examples=("I keep thinking about death.",),
        ),
        rule(
            "jump",
            URGENT,
            r"(?:jump|jumping|jumped|throw myself|step|stepping|walk|walking) (?:off|from|in "
            r"front of|into) (?:a|the|that|this) (?:bridge|building|roof|train|cliff|car|bus|truck|traffic|"
            r"balcony|river|window|ledge|tracks)",
            examples=("I've been thinking about jumping off the bridge near my house.",),
        ),
        rule(
            "method_access",
            NOTICE,
            r"(?:bought|buy|buying|got|getting) (?:a|myself a) (?:gun|firearm|"
            r"pistol|shotgun)",
            examples=("Last week I bought a gun.",),
        ),
        rule(
            "method_rope",
            URGENT,
            r"(?:bought|buy|buying|got|getting|have|tied|tying) (?:a|myself a|the) "
            r"(?:rope|noose)|tied a noose",
            examples=("I bought a rope.",),
        ),
        rule(
            "burden",
            NOTICE,
            r"(?:am|feel like|feel|being|just) (?:such |a |just )?(?:a )?(?:burden|waste of "
            r"space|waste of oxygen)",
            examples=("I feel like such a burden to everyone.",),
        ),
        rule(
            "no_one_would_miss",
            URGENT,
            r"(?:no one|nobody|anyone|anybody|who) (?:would|will|is going to|"
            r"would even|will even|even|really|actually)? ?(?:miss|notice|care) (?:me|if i)",
            negatable=False,
            person="first",
            examples=("Nobody would even notice if I was gone.",),
        ),
        rule(
            "disappear",
            NOTICE,
            r"(?:(?:want|wish|wished|wanting) (?:i could |to )?|should )(?:just )?disappear",
            examples=("I want to disappear forever and never come back.",),
        ),
        rule(
            "no_way_out",
            NOTICE,
            r"(?:no|not see a|not see any) (?:way out|other way out|escape|solution|"
            r"way forward)",
            negatable=False,
            examples=("There's no way out of this.",),
        ),
        rule(
            "hopeless",
            NOTICE,
            r"(?:feel|feeling|felt|am|so|completely|totally) (?:so |completely |totally )?"
            r"(?:hopeless|trapped)",
            examples=("I feel completely trapped.",),
        ),
        rule(
            "unbearable",
            NOTICE,
            r"(?:unbearable|can not bear (?:the|this)|can not stand the) pain|"
            r"(?:pain|it|this|life|everything) is (?:just )?(?:unbearable|too much to bear)",
            examples=("The pain is unbearable.",),
        ),
        rule(
            "rather_dead_than_live",
            URGENT,
            r"(?:would|had) (?:rather|sooner) (?:be dead|die|not be alive) than "
            r"(?:keep|go on|live|living|feel|feeling|be|wake up|spend|carry on|face)",
            negatable=False,
            examples=("I'd rather be dead than keep feeling like this.",),
        ),
        rule(
            "why_still_here",
            NOTICE,
            r"(?:do not know|not sure|wonder) why i am (?:still )?(?:here|alive|around)",
            negatable=False,
            person="first",
            examples=("I don't know why I'm still here.",),
        ),
        rule(
            "easier_not_exist",
            URGENT,
            r"(?:easier|better) (?:for everyone )?to (?:just )?(?:not exist|not be here|"
            r"not be alive|die|be dead|not wake up)",
            examples=("I keep thinking it would be easier to just not exist.",),
        ),
        rule(
            "means_ready",
            URGENT,
            r"(?:have|got|put|keep) (?:the|my|some|enough|all the) (?:pills|tablets|rope|gun|"
            r"meds|razor|blade|knife) (?:ready|set aside|hidden away|lined up)",
            examples=("I have the pills ready.",),
        ),
        rule(
            "happier_if_dead",
            URGENT,
            r"(?:happier|better|easier|better off) (?:for (?:everyone|everybody|them|you) )?"
            r"(?:if|when) i (?:was|were|am|died|was not|were not) (?:dead|gone|not here|not around|not alive|"
            r"around)?",
            negatable=False,
            person="first",
            examples=("Sometimes I wonder if everyone would be happier if I was dead.",),
        ),
        rule(
            "not_care_live_die",
            URGENT,
            r"(?:do not|no longer|not) care (?:if|whether) i (?:live|die|wake up|"
            r"make it)",
            negatable=False,
            person="first",
            examples=("Honestly I don't care if I live or die.",),
        ),
        rule(
            "not_care_what_happens",
            NOTICE,
            r"(?:do not|no longer|not) care what happens to me",
            negatable=False,
            person="first",
            examples=("I've been drinking a lot more and I don't care what happens to me.",),
        ),
        rule(
            "hope_to_crash",
            URGENT,
            r"(?:hope|hoping|wish|wishing|pray|praying) (?:that )?(?:i|something|someone|"
            r"a car|a bus|a truck) (?:would |will |might |could )?(?:just )?(?:crash|get hit|hits me|kills me|"
            r"die|do not make it|never come back)",
            person="first",
            examples=("Lately I keep driving really fast hoping I crash.",),
        ),
        rule(
            "rather_die",
            NOTICE,
            r"(?:would|had) (?:rather|sooner) (?:be dead|die)",
            examples=("I'd rather die than go back there.",),
        ),
        rule(
            "dead_soon",
            URGENT,
            r"(?:will|would|am going to) be dead (?:soon|by|before|in a)",
            examples=("I'll be dead soon anyway.",),
        ),
        rule(
            "do_something_drastic",
            NOTICE,
            r"(?:going to|might|about to|will) do something (?:stupid|drastic|"
            r"permanent|i can not take back)",
            examples=("I'm going to do something stupid tonight.",),
        ),
    ),
)
