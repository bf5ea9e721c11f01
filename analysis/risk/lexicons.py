"""Word lists and phrase patterns the judge uses to read a match in context: negation, who it is about,
the past, hypotheticals, fiction and news, accidents, and idioms ("this traffic is killing me") that are
blanked out before any rule is matched."""

from __future__ import annotations

import re

CLAUSE_BREAK = frozenset(
    [",", "but", "and", "so", "because", "cause", "though", "although", "yet", "while", "then", "or"]
)
NEGATORS = frozenset(["not", "never", "no", "without", "nor", "hardly"])
# "I can't stop thinking about killing myself" is not a denial.
NEGATION_RELEASERS = frozenset(["stop", "help", "shake", "quit", "stand", "get", "know", "remember"])
HYPOTHETICAL = frozenset(["if", "hypothetically", "suppose", "supposing", "imagine", "unless", "whether"])
EMBEDDING_VERBS = frozenset(
    ["what", "wonder", "wondering", "wondered", "know", "ask", "asking", "asked", "see", "sure"]
)
MODALS = frozenset(["will", "would", "am", "might", "could", "should", "shall", "may", "can"])
FIRST_PERSON_WORDS = frozenset(["i", "me", "myself", "we", "us", "ourselves"])
SECOND_PERSON_WORDS = frozenset(["you", "yourself", "yourselves"])
THIRD_PERSON_WORDS = frozenset(
    """he she they him her them himself herself themselves themself someone somebody people person
    friend friends bestie brother sister mom mum mother dad father son daughter cousin aunt uncle husband
    wife partner boyfriend girlfriend kid kids child children guy girl man woman boy character classmate
    coworker colleague neighbor neighbour grandma grandpa grandmother grandfather patient student
    roommate teammate celebrity actor singer""".split()
)
FICTION_RE = re.compile(
    r"\b(?:movie|movies|film|films|show|shows|tv|series|episode|season|book|books|novel|story|stories|"
    r"character|characters|song|songs|lyrics|video ?game|game|documentary|news|article|podcast|netflix|"
    r"anime|scene|plot|trailer|play|musical|comic|manga|headline|headlines|reported|paper)\b"
)
PAST_RE = re.compile(
    r"\b(?:used to|when i was|years? ago|months ago|back then|back in|in (?:high|middle|grade) school|"
    r"in college|in (?:my|his|her) (?:teens|twenties|thirties)|as a (?:kid|teen|teenager|child)|growing up|"
    r"not any ?more|no longer|in the past|long time ago|in (?:19|20)\d\d|"
    r"have not (?:\w+ ){0,3}(?:in|for|since)|since i was|before i (?:met|got|started))\b"
)
RECENT_RE = re.compile(
    r"\b(?:last night|yesterday|today|tonight|this (?:morning|afternoon|evening|week|weekend|month)|"
    r"last (?:week|weekend|month)|again|recently|lately|right now|still|a few days ago|the other day|"
    r"these days|every day|relapsed?|relapsing)\b"
)
STOPPED_RE = re.compile(r"(?:stop|stopped|quit|quitting)\b")
RELAPSE_RE = re.compile(r"\b(?:relaps\w*|again|slipped up)\b")
RESOLVED_RE = re.compile(r"\b(?:any ?more|no longer|since)\b")
ACCIDENT_RE = re.compile(
    r"\b(?:accident\w*|fell|fall|falling|slipped|tripped|playing|practice|gym|workout|working out|lifting|"
    r"running|shaving|cooking|chopping|kitchen|stove|oven|skiing|biking|sports?|football|soccer|"
    r"basketball|tennis|hiking|iron|paper|gardening|by a (?:car|bus|truck|ball|bike|bicycle|wave|drunk driver))\b"
)
# "killing myself is not something I would do", "suicide is not an option for me"
POST_NEGATION_RE = re.compile(
    r"\s*(?:is|was|would be) (?:not|never) (?:something|an option|on the table|happening|going to happen)"
)
CHILD_RE = re.compile(r"\b(?:kids?|children|child|son|daughter|baby)\b")
HEDGE_RE = re.compile(r"\b(?:could|would like to|would love to|want to strangle)\b")


# Idioms and figures of speech, blanked out before any pattern is matched. Order does not matter.
IDIOMS: tuple[str, ...] = (
    r"(?:is|are|was|were|keeps?|been) (?:\w+ )?killing me",
    r"you are killing me",
    r"kill(?:s|ed|ing)? (?:it|time|the (?:mood|vibe|lights|engine|pain|bug|battery))",
    r"(?:could|would) (?:\w+ )?kill for",
    r"(?:just )?(?:kill|shoot) me now",
    r"(?:die|died|dying|dead)(?: of| from| laughing)? (?:of |from )?(?:embarrassment|shame|boredom|laughter|"
    r"laughing|happiness|cuteness|jealousy|hunger|thirst|curiosity|excitement|envy)",
    r"(?<!wish i )(?<!wish )(?<!want to )could (?:just |have )?died?(?! (?:tonight|today|now|soon))",
    r"dying (?:to|for)",
    r"to die for",
    r"die ?hard",
    r"do or die",
    r"dead (?:tired|serious|wrong|end|set|battery|on my feet|to the world|to me|ringer)",
    r"(?:bored|scared|worried|frightened|sick|tickled|loved?|freezing|starving) (?:me )?to death",
    r"(?:phone|battery|laptop|car|computer|plants?|tv|printer|engine) (?:just )?(?:died|is dead|is dying)",
    r"(?:career|social|political|financial|commercial|electoral) suicide",
    r"suicide (?:squad|mission|doors?|run|runs|drill|pact with (?:carbs|sugar))",
    r"dressed to kill",
    r"hit(?:s|ting)? (?:me|us) up",
    r"beat(?:s|ing)? (?:me|us) (?:at|to|in|by|on)",
    r"(?:suicide|self harm) (?:prevention|awareness|hotline|helpline|lifeline|rates?|statistics|research|"
    r"training|risk assessment)",
    r"over my dead body",
    r"i am (?:so )?dead(?! inside)",
    r"kill(?:ing|ed)? myself (?:laughing|to|trying|at work|working|over|at the gym)",
    r"(?:embarrassed|mortified|humiliated|awkward) (?:that )?i (?:could have|could|wanted to|just wanted to) "
    r"(?:just )?die",
    r"work(?:ed|ing)? myself to death",
    r"shoot (?:myself|yourself|himself|herself) in the foot",
    r"shot (?:myself|yourself|himself|herself) in the foot",
    r"kill(?:ed|ing)? (?:two|2) birds",
    r"curiosity killed",
    r"killer (?:app|workout|deal|outfit|view|heels|song|idea|instinct)",
    r"hurt (?:my|his|her) feelings",
    r"kill (?:me|us) with kindness",
    r"(?:want|going) to kill (?:this|that) (?:exam|test|interview|presentation|workout|run)",
    r"cut (?:myself|yourself) (?:some )?slack",
    r"cut myself off",
)
IDIOM_RE = re.compile(r"\b(?:" + "|".join(IDIOMS) + r")\b")


def blank_idioms(text: str) -> str:
    # Same length, so token offsets still line up.
    return IDIOM_RE.sub(lambda m: re.sub(r"[^ ]", "_", m.group(0)), text)
