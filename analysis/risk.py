"""Crisis-language detection for caption lines: suicide, self-harm, harm to others, abuse, being unsafe.

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


# --- tokenisation ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+|[.!?;,]")

_WHOLE_CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "ain't": ("is", "not"),
    "shan't": ("shall", "not"),
    "gonna": ("going", "to"),
    "wanna": ("want", "to"),
    "gotta": ("got", "to"),
    "imma": ("i", "am", "going", "to"),
    "let's": ("let", "us"),
    "noone": ("no", "one"),
    "nobody's": ("nobody", "is"),
    # captions and typed transcripts often drop the apostrophe
    "dont": ("do", "not"),
    "cant": ("can", "not"),
    "didnt": ("did", "not"),
    "doesnt": ("does", "not"),
    "isnt": ("is", "not"),
    "wasnt": ("was", "not"),
    "arent": ("are", "not"),
    "wouldnt": ("would", "not"),
    "couldnt": ("could", "not"),
    "shouldnt": ("should", "not"),
    "havent": ("have", "not"),
    "hasnt": ("has", "not"),
    "im": ("i", "am"),
    "ive": ("i", "have"),
}
_S_IS_WORDS = frozenset(
    "he she it that there what who where here everyone everybody nobody life everything nothing".split()
)
_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("n't", ("not",)),
    ("'re", ("are",)),
    ("'ve", ("have",)),
    ("'ll", ("will",)),
    ("'d", ("would",)),
    ("'m", ("am",)),
)


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    start: int  # span in the original line
    end: int
    capitalised: bool


def _tokenise(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0)
        word = raw.lower().replace("’", "'")
        cap = raw[:1].isupper()
        parts: tuple[str, ...]
        if word in _WHOLE_CONTRACTIONS:
            parts = _WHOLE_CONTRACTIONS[word]
        elif "'" in word:
            parts = (word.replace("'", ""),)
            for suffix, expansion in _SUFFIXES:
                if word.endswith(suffix) and len(word) > len(suffix):
                    parts = (word[: -len(suffix)], *expansion)
                    break
            else:
                if word.endswith("'s"):
                    base = word[:-2]
                    parts = (base, "is") if base in _S_IS_WORDS else (base,)
        else:
            parts = (word,)
        for k, part in enumerate(parts):
            tokens.append(_Token(part, m.start(), m.end(), cap and k == 0))
    return tokens


# --- vocabulary -----------------------------------------------------------------------------------

_SENTENCE_END = frozenset(".!?;")
_CLAUSE_BREAK = frozenset(
    [",", "but", "and", "so", "because", "cause", "though", "although", "yet", "while", "then", "or"]
)
_NEGATORS = frozenset(["not", "never", "no", "without", "nor", "hardly"])
# "I can't stop thinking about killing myself" is not a denial.
_NEGATION_RELEASERS = frozenset(["stop", "help", "shake", "quit", "stand", "get", "know", "remember"])
_HYPOTHETICAL = frozenset(["if", "hypothetically", "suppose", "supposing", "imagine", "unless", "whether"])
_EMBEDDING_VERBS = frozenset(
    ["what", "wonder", "wondering", "wondered", "know", "ask", "asking", "asked", "see", "sure"]
)
_MODALS = frozenset(["will", "would", "am", "might", "could", "should", "shall", "may", "can"])
_FIRST = frozenset(["i", "me", "myself", "we", "us", "ourselves"])
_SECOND = frozenset(["you", "yourself", "yourselves"])
_THIRD = frozenset(
    """he she they him her them himself herself themselves themself someone somebody people person
    friend friends bestie brother sister mom mum mother dad father son daughter cousin aunt uncle husband
    wife partner boyfriend girlfriend kid kids child children guy girl man woman boy character classmate
    coworker colleague neighbor neighbour grandma grandpa grandmother grandfather patient student
    roommate teammate celebrity actor singer""".split()
)
_FICTION_RE = re.compile(
    r"\b(?:movie|movies|film|films|show|shows|tv|series|episode|season|book|books|novel|story|stories|"
    r"character|characters|song|songs|lyrics|video ?game|game|documentary|news|article|podcast|netflix|"
    r"anime|scene|plot|trailer|play|musical|comic|manga|headline|headlines|reported|paper)\b"
)
_PAST_RE = re.compile(
    r"\b(?:used to|when i was|years? ago|months ago|back then|back in|in (?:high|middle|grade) school|"
    r"in college|in (?:my|his|her) (?:teens|twenties|thirties)|as a (?:kid|teen|teenager|child)|growing up|"
    r"not any ?more|no longer|in the past|long time ago|in (?:19|20)\d\d|"
    r"have not (?:\w+ ){0,3}(?:in|for|since)|since i was|before i (?:met|got|started))\b"
)
_RECENT_RE = re.compile(
    r"\b(?:last night|yesterday|today|tonight|this (?:morning|afternoon|evening|week|weekend|month)|"
    r"last (?:week|weekend|month)|again|recently|lately|right now|still|a few days ago|the other day|"
    r"these days|every day|relapsed?|relapsing)\b"
)
_STOPPED_RE = re.compile(r"(?:stop|stopped|quit|quitting)\b")
_RELAPSE_RE = re.compile(r"\b(?:relaps\w*|again|slipped up)\b")
_RESOLVED_RE = re.compile(r"\b(?:any ?more|no longer|since)\b")
_ACCIDENT_RE = re.compile(
    r"\b(?:accident\w*|fell|fall|falling|slipped|tripped|playing|practice|gym|workout|working out|lifting|"
    r"running|shaving|cooking|chopping|kitchen|stove|oven|skiing|biking|sports?|football|soccer|"
    r"basketball|tennis|hiking|iron|paper|gardening|by a (?:car|bus|truck|ball|bike|bicycle|wave|drunk driver))\b"
)
# "killing myself is not something I would do", "suicide is not an option for me"
_POST_NEGATION_RE = re.compile(
    r"\s*(?:is|was|would be) (?:not|never) (?:something|an option|on the table|happening|going to happen)"
)
_CHILD_RE = re.compile(r"\b(?:kids?|children|child|son|daughter|baby)\b")
_HEDGE_RE = re.compile(r"\b(?:could|would like to|would love to|want to strangle)\b")


# Idioms and figures of speech, blanked out before any pattern is matched. Order does not matter.
_IDIOMS: tuple[str, ...] = (
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
_IDIOM_RE = re.compile(r"\b(?:" + "|".join(_IDIOMS) + r")\b")


# --- patterns -------------------------------------------------------------------------------------

_SELF = r"(?P<who>myself|himself|herself|themselves|themself|yourself|ourselves)"
_POSS = r"(?P<who>my|his|her|their|your)"
_AGENT = (
    r"(?:he|she|they|husband|wife|partner|boyfriend|girlfriend|ex|dad|father|mom|mum|mother|stepdad|"
    r"stepfather|stepmom|stepmother|uncle|aunt|brother|sister|boss|coach|teacher|parents|grandpa|"
    r"grandfather|cousin|roommate|someone|somebody|man|guy)"
)
_VICTIM = (
    r"(?P<who>me|us|her|him|them|my (?:mom|mum|mother|sister|brother|kids?|children|son|daughter|baby)|"
    r"the (?:kids|children|baby))"
)


# "cut" that is not self-harm: "cut back", "cut the grass", "cut ties"
_NOT_A_CUT = (
    r"(?! (?:the|it|my hair|back|down|out|in|off|class|school|ties|him|her|them|you|corners|carbs|sugar|onions?|"
    r"hair|someone|people|a|an|that|this|up|through|costs)\b)"
)


@dataclass(frozen=True, slots=True)
class _Pattern:
    rule: str
    category: RiskCategory
    level: Severity
    regex: re.Pattern[str]
    negatable: bool = True
    person: str = "subject"  # "subject": look back for who it is about; "first": fixed by the pattern
    accident_prone: bool = False  # an accident context ("I cut myself cooking") cancels it
    topic: bool = False  # a bare noun ("self-harm"): in a media frame it is the topic, not a disclosure


def _p(
    rule: str,
    category: RiskCategory,
    level: Severity,
    pattern: str,
    *,
    negatable: bool = True,
    person: str = "subject",
    accident_prone: bool = False,
    topic: bool = False,
) -> _Pattern:
    regex = re.compile(r"\b" + pattern + r"\b")
    return _Pattern(rule, category, level, regex, negatable, person, accident_prone, topic)


_U = Severity.URGENT
_N = Severity.NOTICE
_S = RiskCategory.SUICIDE
_H = RiskCategory.SELF_HARM
_O = RiskCategory.HARM_OTHERS
_A = RiskCategory.ABUSE
_X = RiskCategory.UNSAFE

_PATTERNS: tuple[_Pattern, ...] = (
    # suicide: direct
    _p(
        "kill_self",
        _S,
        _U,
        r"(?:kill|killing|killed|kills|hang|hanging|hanged|hangs|shoot|shooting|shot|"
        r"shoots|drown|drowning|drowned|off|offing|offed|end|ending|ended) " + _SELF,
    ),
    _p("take_own_life", _S, _U, r"(?:take|taking|took|takes|end|ending|ended|ends) " + _POSS + r" (?:own )?life"),
    _p(
        "end_it_all",
        _S,
        _U,
        r"(?:end|ending|ended|finish|finishing) (?:it all|everything|it for good|"
        r"my existence|things(?! with))",
    ),
    _p(
        "end_it",
        _S,
        _N,
        r"(?:(?:want|wanted|going|thinking about|think about|ready) to|should (?:just )?) "
        r"end it(?= [.!?;,]|$)",
    ),
    _p(
        "suicide_act",
        _S,
        _U,
        r"(?:commit|committing|committed|commits|attempt|attempting|attempted|"
        r"attempts|tried|try|trying) (?:to commit )?suicide",
    ),
    _p("suicide_attempt", _S, _U, r"suicide attempts?", topic=True),
    _p("suicidal", _S, _U, r"suicidal", topic=True),
    _p(
        "suicide_thoughts",
        _S,
        _U,
        r"(?:thinking|think|thought|thoughts|considering|considered|"
        r"contemplating|contemplated) (?:about |of )?(?:suicide|dying|death and dying|not being here|"
        r"not being alive|not existing|ending it|ending things)",
    ),
    _p(
        "want_to_die",
        _S,
        _U,
        r"(?:want|wanted|wanting|wants|ready|wish|wished|wishing|deserve|"
        r"deserved|deserves) (?:\w+ )?to (?:just )?die",
    ),
    _p(
        "wish_dead",
        _S,
        _U,
        r"wish(?:ed|es|ing)? (?:that )?(?P<who>i|he|she|they|you) (?:was|were|had been|"
        r"would be|could be) (?:dead|gone)",
    ),
    _p(
        "wish_never_born",
        _S,
        _U,
        r"wish(?:ed|ing)? (?:that )?i (?:had|would have|would) never been born",
        person="first",
    ),
    _p(
        "wish_not_exist",
        _S,
        _U,
        r"(?:wish|wished|wishing|want|wanted) (?:that )?(?:i could )?(?:i )?"
        r"(?:did not|would not|could just stop|could stop|would stop|to stop|to just stop) (?:exist|existing)",
        person="first",
    ),
    _p(
        "sleep_not_wake",
        _S,
        _U,
        r"(?:sleep|asleep|bed|go to sleep) and (?:just )?(?:not|never) wake up|"
        r"(?:want|wanted|wish|wishing) (?:i could |to )?(?:just )?(?:go to )?sleep forever",
    ),
    _p("feel_like_dying", _S, _U, r"(?:feel|feeling|felt) like (?:dying|i (?:want|wanna) to die|ending it)"),
    _p(
        "hope_not_wake",
        _S,
        _U,
        r"(?:hope|hoping|wish|wishing|pray|praying) (?:that )?i (?:do not|would not|"
        r"will not|never|could just not|could not) wake up",
        person="first",
    ),
    _p("better_off_dead", _S, _U, r"better off dead"),
    _p("better_off_without_me", _S, _U, r"better (?:off )?without (?P<who>me|him|her|them)", negatable=False),
    _p(
        "easier_if_gone",
        _S,
        _U,
        r"(?:easier|better) (?:for (?:everyone|everybody|them|you|all) )?if i "
        r"(?:was|were|am|was not|were not|just) (?:dead|gone|not here|not around|here|around|disappeared)",
        negatable=False,
        person="first",
    ),
    _p(
        "when_im_gone",
        _S,
        _U,
        r"(?:things|everything|it|life) will be (?:better|easier) (?:for "
        r"(?:everyone|everybody|them|you) )?(?:when|once|after) i am (?:gone|dead|not here)",
        negatable=False,
        person="first",
    ),
    _p(
        "not_want_live",
        _S,
        _U,
        r"(?:not|never) (?:(?:think|know if|feel like|sure) (?:that )?(?:i )?)?"
        r"(?:really |even )?(?:want|wanna) to (?:live|be alive|exist|keep living|go on living|"
        r"be here (?:any ?more|any longer)|be on this earth|be in this world|wake up)",
        negatable=False,
    ),
    _p(
        "no_reason_to_live",
        _S,
        _U,
        r"(?:no|any|not see a|not see any|not see the) (?:reason|point) "
        r"(?:for me )?(?:to live|"
        r"in living|to go on|in going on|to keep going|to be alive|to keep living|in being alive)",
        negatable=False,
    ),
    _p("nothing_to_live_for", _S, _U, r"(?:nothing|no one|nobody) (?:left )?to live for", negatable=False),
    _p(
        "life_not_worth",
        _S,
        _U,
        r"(?:life|living|it) (?:is|is just|feels|does not feel) not worth (?:living|it "
        r"any ?more)|not worth living",
        negatable=False,
    ),
    _p(
        "point_of_living",
        _S,
        _U,
        r"what is the point (?:of|in) (?:living|life|being alive|going on|"
        r"waking up|me being here)",
    ),
    _p("cant_go_on_living", _S, _U, r"can not (?:go on|keep) living", negatable=False),
    _p(
        "cant_go_on",
        _S,
        _N,
        r"can not (?:go on|keep going|do this any ?more|take (?:it|this) any ?more|"
        r"take much more)",
        negatable=False,
    ),
    _p(
        "tired_of_living",
        _S,
        _U,
        r"(?:tired|sick|done) (?:of|with) (?:living|being alive|life|existing|"
        r"my life|being here)",
    ),
    _p(
        "not_around_long",
        _S,
        _U,
        r"(?:not|never) (?:going to )?be (?:around|here|a burden|a problem|bothering "
        r"(?:anyone|you|anybody)|in your way|your problem) (?:much|for much|for|any) ?(?:longer|long|more|"
        r"soon)",
        negatable=False,
    ),
    _p(
        "last_time_see",
        _S,
        _U,
        r"last time (?:you will|anyone will|you are going to) (?:see|hear from) me",
        negatable=False,
        person="first",
    ),
    _p(
        "goodbye_forever",
        _S,
        _U,
        r"(?:saying|said|say) (?:my )?goodbyes? (?:to (?:everyone|everybody|"
        r"all|my (?:family|friends|kids)|people)|for good|forever)|goodbye (?:forever|for good)",
    ),
    _p(
        "giving_things_away",
        _S,
        _U,
        r"(?:giving|gave|give|given) (?:away )?(?:\w+ ){0,6}?(?:my|his|her) "
        r"(?:things|stuff|belongings|possessions|valuables|prized|favou?rite|most important)(?: \w+)?"
        r"(?: away)?",
    ),
    _p(
        "affairs_in_order",
        _S,
        _N,
        r"(?:put|putting|get|getting|got) (?:all )?my affairs in order|"
        r"(?:writing|wrote|made|make|making) (?:out )?my will",
    ),
    _p(
        "suicide_note",
        _S,
        _U,
        r"suicide (?:note|letter)|goodbye (?:note|letter)s?|(?:wrote|writing|"
        r"written|write) (?:a |my )?(?:last |final )?(?:note|letter)s? (?:for|to) (?:my|everyone|"
        r"everybody|when)",
    ),
    _p(
        "plan",
        _S,
        _U,
        r"(?:have|had|made|make|making|got|working on|worked out|figured out|thought "
        r"about) (?:a|my|the) (?:plan|way|method|date) (?:to|for|of) (?:how to )?(?:kill|end|die|do it|"
        r"ending|killing|dying)",
    ),
    _p(
        "know_how_do_it",
        _S,
        _U,
        r"know (?:exactly )?(?:how|when|where) i (?:would|will|am going to|"
        r"could) do it",
        person="first",
    ),
    _p(
        "stockpile",
        _S,
        _U,
        r"(?:stockpil\w+|saving up|saving|hoarding|collecting|stashing|stashed|"
        r"saved up|saved) (?:up )?(?:my |some |all my |a bunch of )?(?:pills|meds|medication|medications|"
        r"tablets|sleeping pills|painkillers)",
    ),
    _p(
        "how_many_pills",
        _S,
        _U,
        r"how many (?:pills|tablets|of these|of my pills) (?:it would take|would "
        r"it take|it takes|does it take|to take)",
    ),
    _p(
        "ways_to_die",
        _S,
        _U,
        r"(?:ways|how|methods) to (?:die|kill myself|end (?:it|my life)|commit suicide|"
        r"overdose|hang myself)|painless (?:way|ways) to die",
    ),
    _p(
        "overdose",
        _S,
        _U,
        r"overdos\w+|od on|(?:took|take|taking|swallowed|taken) (?:all (?:of )?(?:my|the)|a bunch of|a lot of|"
        r"too many|a handful of|the whole (?:bottle|pack|box) of|loads of|every one of) (?:my |the )?"
        r"(?:pills|tablets|meds|medication|painkillers|sleeping pills)",
    ),
    _p(
        "crash_on_purpose",
        _S,
        _U,
        r"(?:drive|driving|drove|steer|steering|crash|crashing|crashed) (?:my|the) car (?:off|into) (?:the road|a "
        r"(?:tree|wall|bridge|truck)|the (?:river|wall|bridge|lake|barrier|oncoming))|"
        r"(?:crash|crashing) (?:my|the) car on purpose",
    ),
    _p(
        "means_on_self",
        _S,
        _U,
        r"(?:use|using|used|turn|turning|point|pointing) (?:it|the gun|a gun|my gun|the knife|a knife|the "
        r"razor) (?:on|at) myself",
        person="first",
    ),
    _p(
        "death_preoccupation",
        _S,
        _N,
        r"(?:think|thinking|thought|obsess\w*|preoccupied|fixated) (?:about|with|on) "
        r"(?:death|dying)",
    ),
    _p(
        "jump",
        _S,
        _U,
        r"(?:jump|jumping|jumped|throw myself|step|stepping|walk|walking) (?:off|from|in "
        r"front of|into) (?:a|the|that|this) (?:bridge|building|roof|train|cliff|car|bus|truck|traffic|"
        r"balcony|river|window|ledge|tracks)",
    ),
    _p(
        "method_access",
        _S,
        _N,
        r"(?:bought|buy|buying|got|getting) (?:a|myself a) (?:gun|firearm|"
        r"pistol|shotgun)",
    ),
    _p(
        "method_rope",
        _S,
        _U,
        r"(?:bought|buy|buying|got|getting|have|tied|tying) (?:a|myself a|the) "
        r"(?:rope|noose)|tied a noose",
    ),
    _p(
        "burden",
        _S,
        _N,
        r"(?:am|feel like|feel|being|just) (?:such |a |just )?(?:a )?(?:burden|waste of "
        r"space|waste of oxygen)",
    ),
    _p(
        "no_one_would_miss",
        _S,
        _U,
        r"(?:no one|nobody|anyone|anybody|who) (?:would|will|is going to|"
        r"would even|will even|even|really|actually)? ?(?:miss|notice|care) (?:me|if i)",
        negatable=False,
        person="first",
    ),
    _p("disappear", _S, _N, r"(?:(?:want|wish|wished|wanting) (?:i could |to )?|should )(?:just )?disappear"),
    _p(
        "no_way_out",
        _S,
        _N,
        r"(?:no|not see a|not see any) (?:way out|other way out|escape|solution|"
        r"way forward)",
        negatable=False,
    ),
    _p(
        "hopeless",
        _S,
        _N,
        r"(?:feel|feeling|felt|am|so|completely|totally) (?:so |completely |totally )?"
        r"(?:hopeless|trapped)",
    ),
    _p(
        "unbearable",
        _S,
        _N,
        r"(?:unbearable|can not bear (?:the|this)|can not stand the) pain|"
        r"(?:pain|it|this|life|everything) is (?:just )?(?:unbearable|too much to bear)",
    ),
    _p(
        "rather_dead_than_live",
        _S,
        _U,
        r"(?:would|had) (?:rather|sooner) (?:be dead|die|not be alive) than "
        r"(?:keep|go on|live|living|feel|feeling|be|wake up|spend|carry on|face)",
        negatable=False,
    ),
    _p(
        "why_still_here",
        _S,
        _N,
        r"(?:do not know|not sure|wonder) why i am (?:still )?(?:here|alive|around)",
        negatable=False,
        person="first",
    ),
    _p(
        "easier_not_exist",
        _S,
        _U,
        r"(?:easier|better) (?:for everyone )?to (?:just )?(?:not exist|not be here|"
        r"not be alive|die|be dead|not wake up)",
    ),
    _p(
        "means_ready",
        _S,
        _U,
        r"(?:have|got|put|keep) (?:the|my|some|enough|all the) (?:pills|tablets|rope|gun|"
        r"meds|razor|blade|knife) (?:ready|set aside|hidden away|lined up)",
    ),
    _p(
        "happier_if_dead",
        _S,
        _U,
        r"(?:happier|better|easier|better off) (?:for (?:everyone|everybody|them|you) )?"
        r"(?:if|when) i (?:was|were|am|died|was not|were not) (?:dead|gone|not here|not around|not alive|"
        r"around)?",
        negatable=False,
        person="first",
    ),
    _p(
        "not_care_live_die",
        _S,
        _U,
        r"(?:do not|no longer|not) care (?:if|whether) i (?:live|die|wake up|"
        r"make it)",
        negatable=False,
        person="first",
    ),
    _p(
        "not_care_what_happens",
        _S,
        _N,
        r"(?:do not|no longer|not) care what happens to me",
        negatable=False,
        person="first",
    ),
    _p(
        "hope_to_crash",
        _S,
        _U,
        r"(?:hope|hoping|wish|wishing|pray|praying) (?:that )?(?:i|something|someone|"
        r"a car|a bus|a truck) (?:would |will |might |could )?(?:just )?(?:crash|get hit|hits me|kills me|"
        r"die|do not make it|never come back)",
        person="first",
    ),
    _p("rather_die", _S, _N, r"(?:would|had) (?:rather|sooner) (?:be dead|die)"),
    _p("dead_soon", _S, _U, r"(?:will|would|am going to) be dead (?:soon|by|before|in a)"),
    _p(
        "do_something_drastic",
        _S,
        _N,
        r"(?:going to|might|about to|will) do something (?:stupid|drastic|"
        r"permanent|i can not take back)",
    ),
    # self-harm
    _p(
        "harm_self",
        _H,
        _U,
        r"(?:hurt|hurting|hurts|harm|harming|harmed|harms|cut|cutting|cuts|burn|burning|"
        r"burned|burnt|burns|scratch|scratching|scratched|punish|punishing|mutilate|mutilating|bruise|"
        r"bruising|hit|hitting) " + _SELF,
        accident_prone=True,
    ),
    _p(
        "starve_self",
        _H,
        _N,
        r"(?:starve|starving|starved|make|making|made) " + _SELF + r"(?: (?:throw up|sick|vomit|bleed))?",
    ),
    _p("self_harm", _H, _U, r"self (?:harm|harming|harmed|injury|injuring|injure|mutilation)", topic=True),
    _p(
        "cut_body",
        _H,
        _U,
        r"(?:cut|cutting|cuts|slit|slitting|slash|slashing|burn|burning|burned|carve|"
        r"carving|carved|scratch\w*) (?:into )?" + _POSS + r" (?:arms?|wrists?|legs?|thighs?|skin|stomach|"
        r"hips?)",
        accident_prone=True,
    ),
    _p(
        "cutting_habit",
        _H,
        _U,
        r"(?:started|start|been|keep|kept|relapsed|relapse|back to|stop|stopped|quit|quitting|"
        r"used to|urges? to|urge to|want to|wanted to|need to|needed to|feel like|felt like|"
        r"thinking about|think about) (?:on |into )?(?:cutting|cut|self harming)" + _NOT_A_CUT,
    ),
    _p(
        "urge_hurt_self",
        _H,
        _U,
        r"(?:urges?|want|wanted|need|needed) to (?:hurt|harm|punish) (?:my ?self|"
        r"me)",
        person="first",
    ),
    # harming others
    _p(
        "harm_other",
        _O,
        _U,
        r"i (?:\w+ ){0,3}?(?:kill|killing|hurt|hurting|stab|stabbing|shoot|shooting|"
        r"strangle|strangling|choke|choking|attack|attacking|beat up|beating up|murder|murdering|poison|"
        r"poisoning) (?P<victim>him|her|them|you|my (?:\w+)|someone|somebody|people|everyone|everybody|"
        r"that (?:guy|man|woman|girl|bitch|bastard)|the (?:kids|baby|guy))",
        person="first",
    ),
    _p(
        "thoughts_harm_other",
        _O,
        _U,
        r"(?:thoughts|thinking|think|thought|urges?|fantasi\w+|dreams?) "
        r"(?:about|of) (?:hurting|killing|stabbing|shooting|attacking|strangling|poisoning) (?:him|her|"
        r"them|someone|somebody|people|my \w+|the baby|the kids|you)",
    ),
    _p(
        "mass_violence",
        _O,
        _U,
        r"(?:shoot|shooting|bomb|blow) up (?:the|my|this|that) (?:school|office|"
        r"work|place|class|building|church|mall)|bring a gun to (?:school|work|class)",
    ),
    # abuse (the client as victim unless the victim says otherwise)
    _p(
        "physical_abuse",
        _A,
        _U,
        _AGENT + r" (?:\w+ ){0,3}?(?:hits?|hitting|beats?|beating|beat|punch\w*|"
        r"kicks?|kicked|kicking|slap\w*|chok\w+|strangl\w+|shov\w+|push\w*|throws things at|threw things "
        r"at|burned|burns|whips?|whipped|drags?|dragged|physically hurts?|physically hurt|hurts? "
        r"(?:me|us) when|raped|rapes|molested|molests|sexually assaulted|assaulted|touched|touches) " + _VICTIM,
    ),
    _p(
        "abuse_disclosure",
        _A,
        _U,
        r"(?:raped|molested|sexually (?:assaulted|abused)|abused|abusing|abuses|"
        r"touched me (?:inappropriately|down there|sexually|where)|makes? me do (?:sexual )?things)(?: me)?",
    ),
    _p(
        "being_abused",
        _A,
        _U,
        r"i (?:am|was|have been|am being|was being|got) (?:being )?(?:abused|raped|"
        r"assaulted|molested|beaten|hit|choked|strangled|groomed)",
        person="first",
        accident_prone=True,
    ),
    _p(
        "threat_to_kill_me",
        _A,
        _U,
        r"(?:threaten\w*|said|says|told me|swore|promised) (?:that )?(?:to |"
        r"he|she|they)? ?(?:would |will |is going to |was going to |is gonna )?(?:kill|hurt|shoot|stab|"
        r"find|take) (?P<who>me|us|my (?:kids|children|son|daughter|mom|family|dog|cat|pets?)|the (?:kids|children|"
        r"baby))",
    ),
    _p(
        "going_to_kill_me",
        _A,
        _N,
        r"(?:going to|will|would|wants? to|tried to|try to|tries to) "
        r"(?:kill|shoot|stab|strangle) (?P<who>me|us)(?! (?:if|when|for|because))",
    ),
    _p(
        "kill_me_if_i_leave",
        _A,
        _U,
        r"(?:kill|hurt|find) (?:me|us) if i (?:ever )?(?:leave|left|tell|told|"
        r"try|tried|go to|went to|call|called|report|reported|run|ran|say anything|talk)",
        person="first",
    ),
    _p(
        "controlling",
        _A,
        _N,
        r"(?:will not|does not|do not|never) let me (?:leave|see|go out|have (?:any )?"
        r"money|talk to|use (?:my|the) phone|out of)|(?:takes|took|controls|checks) (?:all )?my (?:money|"
        r"phone|paycheck|keys)",
        negatable=False,
        person="first",
    ),
    # being unsafe
    _p(
        "not_safe",
        _X,
        _U,
        r"(?:do not|not|never|no longer) (?:feel )?safe (?:at home|here|with him|with "
        r"her|with them|in my (?:own )?home|in (?:the|my) house|around him|around her|going home)|"
        r"i (?:do not|no longer|never) feel safe|i am not safe",
        negatable=False,
        person="first",
    ),
    _p(
        "afraid_of_harm",
        _X,
        _U,
        r"(?:afraid|scared|terrified|frightened|fear|worried) (?:that )?(?:he|she|"
        r"they|my \w+) (?:is|are|will|might|would|is going to|are going to)? ?(?:going to )?(?:kill|hurt|"
        r"hit|find|beat) (?:me|us|my)",
        person="first",
    ),
    _p(
        "fear_for_life",
        _X,
        _U,
        r"(?:fear|afraid|scared|terrified) for (?:my|our) (?:life|lives|safety)|"
        r"(?:afraid|scared|terrified) to go home",
        person="first",
    ),
    _p(
        "in_danger",
        _X,
        _U,
        r"i am in danger|(?:he|she|they) (?:has|have|got) a (?:gun|knife) and "
        r"(?:he |she |they )?(?:said|says|threatened|would|will)",
        person="first",
    ),
)


# --- assessment -----------------------------------------------------------------------------------

_LEVEL_RANK = {None: 0, Severity.INFO: 1, Severity.NOTICE: 2, Severity.URGENT: 3}


def _demote(level: Severity) -> Severity | None:
    return Severity.NOTICE if level is Severity.URGENT else None


@dataclass(frozen=True, slots=True)
class _Sentence:
    tokens: list[_Token]
    text: str  # normalised tokens joined by single spaces
    offsets: list[int]  # char offset of each token in `text`


def _sentences(tokens: list[_Token]) -> list[_Sentence]:
    out: list[_Sentence] = []
    current: list[_Token] = []
    for tok in [*tokens, _Token(".", -1, -1, False)]:
        current.append(tok)
        if tok.norm in _SENTENCE_END:
            if len(current) > 1:
                offsets: list[int] = []
                pos = 0
                for t in current:
                    offsets.append(pos)
                    pos += len(t.norm) + 1
                out.append(_Sentence(current, " ".join(t.norm for t in current), offsets))
            current = []
    return out


def _blank_idioms(text: str) -> str:
    # Same length, so token offsets still line up.
    return _IDIOM_RE.sub(lambda m: re.sub(r"[^ ]", "_", m.group(0)), text)


def _token_index(sentence: _Sentence, char: int) -> int:
    idx = 0
    for i, off in enumerate(sentence.offsets):
        if off <= char:
            idx = i
    return idx


def _person_of(word: str) -> Frame | None:
    if word in _FIRST or word == "my":
        return Frame.FIRST_PERSON
    if word in _SECOND or word == "your":
        return Frame.GENERIC_YOU
    if word in _THIRD or word in ("his", "their"):
        return Frame.THIRD_PARTY
    return None


def _subject_frame(sentence: _Sentence, first: int) -> Frame:
    """Who the words before a match are about: the nearest person word looking back (8 tokens)."""
    for i in range(first - 1, max(-1, first - 9), -1):
        tok = sentence.tokens[i]
        if tok.norm in _FIRST:
            return Frame.FIRST_PERSON
        if tok.norm in _SECOND:
            return Frame.GENERIC_YOU
        if tok.norm in _THIRD:
            return Frame.THIRD_PARTY
        if tok.capitalised and i > 0 and tok.norm != "i" and tok.norm.isalpha():
            return Frame.THIRD_PARTY  # a name mid-sentence
    return Frame.FIRST_PERSON  # "just want to die": spoken about oneself


def _clause_start(sentence: _Sentence, first: int) -> int:
    for i in range(first - 1, -1, -1):
        if sentence.tokens[i].norm in _CLAUSE_BREAK:
            return i + 1
    return 0


def _is_negated(sentence: _Sentence, first: int) -> bool:
    start = max(_clause_start(sentence, first), first - 6)
    for i in range(start, first):
        if sentence.tokens[i].norm in _NEGATORS:
            nxt = sentence.tokens[i + 1].norm if i + 1 < len(sentence.tokens) else ""
            if nxt not in _NEGATION_RELEASERS:
                return True
    return False


def _is_hypothetical(sentence: _Sentence, first: int) -> bool:
    """True when the match sits inside an if-clause ("if I ever wanted to hurt myself")."""
    toks = [t.norm for t in sentence.tokens]
    for i in range(first - 1, -1, -1):
        if toks[i] in _HYPOTHETICAL:
            if i > 0 and toks[i - 1] in _EMBEDDING_VERBS:
                # "what if I just ended it all?", "I wonder if ...": rumination, not a hypothetical
                return False
            between = toks[i + 1 : first]
            if "," in between or "then" in between:
                return False
            # a fresh "I will / I would" after the if-clause starts the main clause
            for j in range(1, len(between) - 1):
                if between[j] == "i" and between[j + 1] in _MODALS:
                    return False
            return True
        if toks[i] in _SENTENCE_END:
            break
    return False


def _outside(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


class RiskDetector:
    """Judges one caption line at a time. Stateless; `context` is the speaker's previous line(s)."""

    def assess(self, text: str, context: Sequence[str] = ()) -> RiskFinding | None:
        tokens = _tokenise(text)
        if not tokens:
            return None
        line_norm = " ".join(t.norm for t in tokens)
        context_norm = " ".join(" ".join(t.norm for t in _tokenise(c)) for c in context)
        fiction = bool(_FICTION_RE.search(line_norm) or _FICTION_RE.search(context_norm))
        best: RiskFinding | None = None
        for sentence in _sentences(tokens):
            searchable = _blank_idioms(sentence.text)
            for pattern in _PATTERNS:
                for m in pattern.regex.finditer(searchable):
                    finding = self._judge(pattern, m, sentence, fiction, text)
                    if finding is not None and _LEVEL_RANK[finding.level] > _LEVEL_RANK[best.level if best else None]:
                        best = finding
        return best

    def _judge(
        self, pattern: _Pattern, m: re.Match[str], sentence: _Sentence, fiction: bool, text: str
    ) -> RiskFinding | None:
        first = _token_index(sentence, m.start())
        last = _token_index(sentence, m.end() - 1)
        phrase_tokens = sentence.tokens[first : last + 1]
        line_phrase = _phrase(text, phrase_tokens)
        rest = _outside(sentence.text, m.start(), m.end())

        level: Severity | None = pattern.level
        frame = Frame.FIRST_PERSON

        if pattern.accident_prone and _ACCIDENT_RE.search(rest):
            return None
        if pattern.topic and fiction:
            return None

        # who is it about
        groups = m.groupdict()
        who = groups.get("who")
        if pattern.person == "first":
            frame = Frame.FIRST_PERSON
        elif who is not None:
            frame = _person_of(who.split()[0]) or Frame.THIRD_PARTY
            if pattern.category is RiskCategory.ABUSE and who.startswith(("my ", "the ")):
                # children in the client's care count as the client's own safety; other adults do not
                frame = Frame.FIRST_PERSON if _CHILD_RE.search(who) else Frame.THIRD_PARTY
        else:
            frame = _subject_frame(sentence, first)
        if pattern.category is RiskCategory.ABUSE and who is None and pattern.person != "first":
            frame = _victim_frame(sentence, last)

        if frame is Frame.FIRST_PERSON and _stopped(sentence, first, m.group(0)) and not _RELAPSE_RE.search(rest):
            return RiskFinding(Severity.NOTICE, pattern.category, line_phrase, pattern.rule, Frame.RESOLVED)

        if pattern.negatable and (_is_negated(sentence, first) or _POST_NEGATION_RE.match(sentence.text[m.end() :])):
            if frame is Frame.FIRST_PERSON and _RESOLVED_RE.search(rest):
                return RiskFinding(Severity.NOTICE, pattern.category, line_phrase, pattern.rule, Frame.RESOLVED)
            return None

        if frame is Frame.THIRD_PARTY:
            if fiction:
                return None
            level = _demote(pattern.level)
        elif frame is Frame.GENERIC_YOU:
            level = _demote(pattern.level)
        if level is None:
            return None

        if frame is Frame.FIRST_PERSON:
            if _PAST_RE.search(rest) and not _RECENT_RE.search(rest):
                level, frame = _demote(level), Frame.PAST
            elif _is_hypothetical(sentence, first):
                level, frame = _demote(level), Frame.HYPOTHETICAL
            elif pattern.category is RiskCategory.HARM_OTHERS and (_HEDGE_RE.search(m.group(0))):
                level, frame = _demote(level), Frame.HEDGED
        if level is None:
            return None
        return RiskFinding(level, pattern.category, line_phrase, pattern.rule, frame)


def _stopped(sentence: _Sentence, first: int, matched: str) -> bool:
    """ "I stopped cutting", "I quit self-harming": a behaviour the speaker says is over."""
    before = {t.norm for t in sentence.tokens[max(0, first - 2) : first]}
    return bool(_STOPPED_RE.match(matched)) or bool(before & {"stopped", "quit", "quitting"})


def _victim_frame(sentence: _Sentence, last: int) -> Frame:
    after = [t.norm for t in sentence.tokens[last + 1 : last + 3]]
    before = [t.norm for t in sentence.tokens[max(0, last - 8) : last + 1]]
    if "me" in before or "me" in after or "i" in before or "us" in after:
        return Frame.FIRST_PERSON
    if any(w in _THIRD for w in after) or any(w in ("her", "him", "them") for w in before[-2:]):
        return Frame.THIRD_PARTY
    return Frame.FIRST_PERSON


def _phrase(text: str, tokens: list[_Token]) -> str:
    real = [t for t in tokens if t.start >= 0]
    return text[real[0].start : real[-1].end] if real else ""
