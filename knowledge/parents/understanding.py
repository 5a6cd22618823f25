"""Deciding what a parent's or teacher's message asks for: specific answers, a topic's
overview, an honest "I don't have a reliable answer", or a kind decline.

The order of the checks is the product's promise:
1. each part of a two- or three-part question is matched on its own, so each gets an answer;
2. an answer is given only when its questions are close enough to the message (thresholds
   measured on the development sets, tests/answers/*_dev.yml, never on the hold-outs);
3. a broad question about a topic ("tell me about EHCPs") gets the topic's overview, with
   its specific questions as buttons;
4. a SEND question with no close answer gets honesty, and is kept for the school to answer;
5. anything that is not about SEND is declined, stating no SEND fact.

Pure: no database, no Rasa. `knowledge.parents.assistant` turns a `Reading` into a reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from knowledge.parents.retrieval import QUESTION_WORDS, AnswerIndex, Entry, Scored, words
from knowledge.parents.search import _stem
from knowledge.text.spelling import Corrector

# A match at least this close is the answer (the development sets' figures: see DEVELOPERS.md).
ANSWER_AT = 0.27
# Closer than this, but not ANSWER_AT, the answer is given only when the NLU model read the same topic.
ANSWER_WITH_TOPIC_AT = 0.2
# A message with no SEND word needs a much closer match ("how long do I boil an egg" is
# near "how long does an EHCP take" in words, and nowhere near it in meaning).
ANSWER_WITHOUT_SEND_WORDS_AT = 0.6
# With no SEND word, the model's sure topic makes a message a SEND question only with a
# match at least this close ("can they make him go part time?").
FAIR_MATCH_AT = 0.35
# A looser match still counts when it stands well clear of every other answer.
CLEAR_AT = 0.25
CLEAR_RATIO = 2.0
# A second answer for the same part only when it is nearly as close as the first.
RUNNER_UP_WITHIN = 0.03
MAX_ANSWERS = 3
# The NLU model's topic counts when it is at least this sure.
TOPIC_SURE = 0.5

# Words that only a SEND question uses. A message without one of them (and with no close
# answer) is not about SEND, whatever the NLU model guessed.
SEND_WORDS = frozenset(
    """sen send senco sendco ehcp ehc sendiass iass ipsea tribunal autism autistic asd asc adhd
    dyslexia dyslexic dyspraxia dyscalculia dcd disability disabled disabilities iep ieps provision
    statemented assessment reassessment psychologist camhs therapy therapist occupational physio
    physiotherapy sensory mediation eotas exclusion excluded suspension suspended expelled
    adjustments wheelchair deaf blind semh epilepsy diabetic dyslexic nonverbal mutism downs
    palsy hyperactivity meltdown meltdowns ta tas one-to-one 1:1 ombudsman lgsco adulthood
    inclusion graduated diagnosis diagnosed specialist appeal appeals reassess reassessment
    reassessed re-assess re-assessment cease ceasing ceased mainstream auxiliary jcq sats alnco idp
    off-roll off-rolled off-rolling post-16 sendco's ehcps ehcp's senco's caseworker nasenco npq
    epipen scribe assessing assess ehcna apdr inhaler inhalers""".split()
)
SEND_PHRASES = (
    "special school", "special educational", "special needs", "learning support", "sen support",
    "support plan", "annual review", "local offer", "personal budget", "direct payment",
    "access arrangements", "extra time", "reasonable adjust", "learning difficult", "learning disab",
    "speech and language", "speech therapy", "part-time timetable", "part time timetable",
    "white paper", "send reform", "send system", "preparing for adulthood", "phase transfer",
    "education health and care", "health care plan", "healthcare plan", "medical condition",
    "home to school transport", "school transport", "judicial review", "naming a school",
    "named school", "statement of", "notional", "high needs", "top-up funding", "top up funding",
    "equality act", "home educat", "reduced timetable", "off roll", "phase transfer", "sixth form",
    "access arrangement", "first-tier tribunal", "learning needs", "support needs",
    # an EHC plan called "the plan" by its stage or its owner (2026-12-07)
    "draft plan", "final plan", "amended plan", "his plan", "her plan", "their plan", "'s plan",
    "agree to assess", "whether to assess", "refuse to assess", "assess my", "assess him", "assess her",
    "section 100", "section 19", "section 42", "school refusal", "emotionally based", "ebsa",
    "review meeting",
    # said by parents and staff without any word above (questions_dev2, 2026-12-07)
    "compulsory school age", "best endeavours", "efficient education", "education of others",
    "accessibility plan", "adrenaline pen", "epi pen", "auto-injector", "ed psych", "educational psych",
    "experts at hand", "transfer the plan", "lacks capacity", "mental capacity", "too ill for school",
    "too ill to go to school", "2 ill 4 skool", "health care needs", "healthcare needs", "own views",
    "in the exam", "in his exam", "in her exam", "hrs a day", "hours a day at school",
    # and more of them, with the council's decisions mistyped (questions_dev2/3, 2026-12-07)
    "walking distance", "efficient use of resources", "independent review panel", "medical absence",
    "ill child", "too anxious to go", "2 anxious", "lose my plan", "in the plan", "plan names",
    "names the school", "which section", "school trips", "because of behaviour",
    "because of his behaviour", "because of her behaviour", "count as 'long-term'", "count as long-term",
    "'long term' mean", "'long-term' mean", "ar meeting", "the ar was", "suspend a pupil",
    "only emails my son", "only emails my daughter",
)  # fmt: skip
# A council's decision about a child's education: "can the council end his plan", "the LA
# won't name the school". Both words are needed; either alone is everyday.
_COUNCIL = re.compile(r"\b(?:council|councils|councl|la|lea|local authority)\b")
_COUNCIL_DECIDES = re.compile(
    r"\b(?:assess\w*|plan|plans|review\w*|name|named|naming|provision|college|transport|funding|school|"
    r"decide|decision)\b"
)
_SECTION = re.compile(r"\bsection [a-k]\b")
# A stage of an EHC plan with the school it names: "at the draft stage can I say which school...",
# "which school gets named in the final version". Either alone is everyday ("help me draft...").
_PLAN_STAGE = re.compile(r"\b(?:draft stage|draft version|final version|at the draft|in the draft)\b")
_PLACE = re.compile(r"\b(?:school|schools|college|setting|placement)\b")

_SENTENCE_END = re.compile(r"(?<=[?!.])\s+|\n+")
# "..., and is there...", "also, can they...": a new question joined to the last one.
_QUESTION_START = (
    r"(?:what|whats|what's|when|who|whos|who's|how|can|could|is|are|do|does|will|would|should|if|"
    r"where|which|why|must)"
)
# "...and by when...", "...and from which day...": a question word after a preposition.
_PREPOSITION_THEN_ASKING = (
    r"(?:by|from|in|for|to|at|on|with|after|before|until|within)\s+(?:what|which|when|whom|how)"
)
_JOINED = re.compile(
    rf"(?:(?:,|;|:)?\s+(?:and\s+also|and|also|plus|oh\s+and|another\s+thing|as\s+well)\s*,?|[,;])\s+"
    rf"(?=(?:{_QUESTION_START}|{_PREPOSITION_THEN_ASKING})\b)",
    re.IGNORECASE,
)
MIN_PART_WORDS = 3


def question_parts(text: str) -> list[str]:
    """The separate questions in a message (see `parts_with_context`)."""
    return [part for part, _ in parts_with_context(text)]


def parts_with_context(text: str) -> list[tuple[str, str]]:
    """The separate questions in a message, each with the sentence before it.

    Sentences are parts, and so are questions joined by "and", "also"... Where some sentences
    end in a question mark, those (and a last sentence without one) are the questions, and the
    rest of a long message is the story around them; the sentence just before a question is
    its possible context ("The council says the school is full. Is that a lawful reason?"), and
    so is a lead-in before a comma ("If they agree to assess, how long...").
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    asked = {i for i, s in enumerate(sentences) if s.endswith("?")}
    if asked:
        asked.add(len(sentences) - 1)
    chosen = sorted(asked) if asked else range(len(sentences))
    parts: list[tuple[str, str]] = []
    for i in chosen:
        context = sentences[i - 1] if i > 0 and i - 1 not in asked else ""
        listed = _colon_list(sentences[i])
        if listed is not None:  # "the three deadlines: for X, to Y, and to Z?"
            head, items = listed
            parts.extend((item, head) for item in items)
            continue
        for piece, lead_in in _pieces(sentences[i]):
            piece = piece.strip(" ,;:-")
            if not piece:
                continue
            if lead_in and _too_short(piece):  # "..., is that right?": the lead-in is what it asks about
                piece = f"{lead_in}, {piece}"
            elif lead_in:
                context = lead_in
            if parts and _too_short(piece):
                parts[-1] = (f"{parts[-1][0]} {piece}", parts[-1][1])
                continue
            parts.append((piece, context))
            context = piece  # "...and how long do I have to do that?": the last part is its context
    return parts or [(text.strip(), "")]


# A piece asks a question of its own when it opens with one of these ("who can ask...");
# "when" only when a verb follows ("when does...", not "when she turns 16, ...").
_ASKING_WORDS = frozenset(_QUESTION_START.strip("(?:)").split("|")) - {"if", "when"}
_AUXILIARIES = frozenset(
    "is are was were do does did can could will would should must has have shall".split()
)


def _pieces(sentence: str) -> list[tuple[str, str]]:
    """A sentence cut where a new question is joined on, each piece with its lead-in: words
    before a comma that ask nothing themselves ("If the council agrees to assess, how
    quickly...?", "At the draft stage, can I...") are the scene the question is asked in, not
    a question of their own to be matched and answered."""
    pieces: list[tuple[str, str]] = []
    start, lead_in = 0, ""
    for joint in _JOINED.finditer(sentence):
        piece = sentence[start : joint.start()]
        bare_comma = not re.search(r"[a-z]", joint.group(0), re.IGNORECASE)
        if not pieces and not lead_in and bare_comma and not _asks(piece):
            lead_in = piece.strip(" ,;:-")
        else:
            pieces.append((piece, lead_in))
            lead_in = ""
        start = joint.end()
    pieces.append((sentence[start:], lead_in))
    return pieces


_LIST_SEPARATOR = re.compile(r"\s*(?:,\s*(?:and|or)\s+|,|;)\s*", re.IGNORECASE)


def _colon_list(sentence: str) -> tuple[str, list[str]] | None:
    """A question that announces a list, then gives it after a colon ("Can you give me the
    deadlines: for the decision, for the draft, and for the final plan?"): the head and the
    items, each a part of its own. A colon after words that ask nothing ("Parent here: who
    can...") is not a list."""
    head, colon, rest = sentence.partition(":")
    if not colon or not rest[:1].isspace() or not _asks(head) or _asks(rest):  # "at 9:15" is a time
        return None
    items = [item.strip(" ,;:-") for item in _LIST_SEPARATOR.split(rest)]
    items = [item for item in items if item]
    if len(items) < 2 or any(len(item.split()) < 2 for item in items):
        return None
    return head.strip(), items


def _asks(piece: str) -> bool:
    """Does this piece, or a clause of it after a colon or dash, open as a question ("who
    can...", "Governor here: must our SENCO...", "when does...")?"""
    for clause in re.split(r"[:;]|\s[-–]\s", piece.lower()):
        found = re.findall(r"[a-z']+", clause)
        if not found:
            continue
        if found[0] == "when" and len(found) > 1 and found[1] in _AUXILIARIES:
            return True
        if found[0] in _ASKING_WORDS or re.match(_PREPOSITION_THEN_ASKING + r"\b", clause.strip()):
            return True
    return False


def _too_short(piece: str) -> bool:
    """Too little to be matched alone ("is that right?", "and how long?")."""
    return len(piece.split()) < MIN_PART_WORDS or len(content_words(piece)) < 2


def content_words(text: str) -> list[str]:
    """The words that say what a message is about (not who, when, how...)."""
    return [w for w in words(text) if w not in QUESTION_WORDS]


# Words of the council's decisions too, so that "councl" and "decied" are read as them.
_VOCABULARY = sorted(
    SEND_WORDS
    | {w for phrase in SEND_PHRASES for w in phrase.split() if len(w) >= 5}
    | {"council", "decide", "decision"}
)


_CORRECTOR = Corrector(_VOCABULARY, min_length=5)


def is_about_send(text: str) -> bool:
    """Does the message use a word (or phrase) only SEND questions use, even mistyped?"""
    raw = [w.strip("':-") for w in re.findall(r"[a-z0-9:'-]+", text.lower())]
    lowered = " ".join(_CORRECTOR.correct(w) for w in raw if w)
    if any(phrase in lowered for phrase in SEND_PHRASES) or _SECTION.search(lowered):
        return True
    if _COUNCIL.search(lowered) and _COUNCIL_DECIDES.search(lowered):
        return True
    if _PLAN_STAGE.search(lowered) and _PLACE.search(lowered):
        return True
    raw_words = set(re.findall(r"[a-z0-9:'-]+", lowered))
    return bool(raw_words & SEND_WORDS) or bool({_stem(w) for w in raw_words} & SEND_WORDS)


@dataclass(frozen=True)
class Reading:
    """What the message asks for. `answers`: the matches to give, in the order asked."""

    answers: tuple[Scored, ...] = ()
    about_send: bool = False
    topic: str | None = None  # the NLU model's topic, when it was sure
    parts: int = 1
    best: float = 0.0  # the closest match's score (for the unanswered list and the bench)
    unanswered_parts: tuple[str, ...] = field(default_factory=tuple)

    @property
    def off_topic(self) -> bool:
        return not self.answers and not self.about_send


def read_question(text: str, index: AnswerIndex, topic_weights: Mapping[str, float] | None = None) -> Reading:
    """Match each part of the message to the answer bank; decide what can be answered."""
    topic_weights = dict(topic_weights or {})
    topic = max(topic_weights, key=topic_weights.get, default=None)
    if topic is not None and topic_weights[topic] < TOPIC_SURE:
        topic = None
    parts = parts_with_context(text)
    about_send = is_about_send(text) or (topic is not None and _fair_match(index, text, topic_weights))
    chosen: list[Scored] = []
    near_ties: set[str] = set()  # second answers to a part, given only when there is room
    unanswered: list[str] = []
    best = 0.0
    for piece, context in parts:
        ranked = index.rank(piece, topic_weights)
        leans_back = False
        if context:  # the question alone, or with the sentence before it: whichever is clearer
            with_context = index.rank(f"{context} {piece}", topic_weights)
            # ...unless the sentence before only pulls it towards an answer already given
            fresh_in_context = with_context and all(
                with_context[0].entry.slug != c.entry.slug for c in chosen
            )
            if fresh_in_context and (not ranked or with_context[0].score > ranked[0].score):
                ranked = with_context
            elif chosen and with_context and leans_on_what_came_before(piece):
                # "..., and which law is it under?": "it" is the earlier part's subject, and
                # this part asks the next thing about it, not what was answered already
                resolved = resolve_pointing_back(piece, context, chosen[-1].entry)
                ranked, leans_back = index.rank(resolved, topic_weights) or with_context, True
        if not ranked:
            unanswered.append(piece)
            continue
        best = max(best, ranked[0].score)
        fresh = [m for m in ranked if all(m.entry.slug != c.entry.slug for c in chosen)]
        if (
            len(parts) > 1
            and not leans_back
            and fresh
            and fresh[0] is not ranked[0]
            and _confident(ranked[0], topic, about_send)
        ):
            continue  # this part asks again what an earlier part's answer already says
        ranked = fresh or ranked
        first = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        if _confident(first, topic, about_send, runner_up):
            close_behind = [m for m in ranked[1:2] if first.score - m.score <= RUNNER_UP_WITHIN]
            if all(first.entry.slug != c.entry.slug for c in chosen):
                chosen.append(first)
            for match in close_behind:
                given = any(match.entry.slug == c.entry.slug for c in chosen)
                if _confident(match, topic, about_send) and not given:
                    chosen.append(match)
                    near_ties.add(match.entry.slug)
        else:
            unanswered.append(piece)
    if len(parts) > 1 and not chosen:  # the parts alone were too short: try the whole message
        ranked = index.rank(text, topic_weights)
        if ranked and _confident(ranked[0], topic, about_send):
            chosen.append(ranked[0])
            unanswered = []
    return Reading(
        answers=_each_part_first(chosen, near_ties),
        about_send=bool(chosen) or about_send,
        topic=topic,
        parts=len(parts),
        best=best,
        unanswered_parts=tuple(unanswered),
    )


def _each_part_first(chosen: list[Scored], near_ties: set[str]) -> tuple[Scored, ...]:
    """At most MAX_ANSWERS, in the order asked: every part's own answer first; a near tie
    only where there is room left, so it never pushes a later part's answer out."""
    room = MAX_ANSWERS - sum(1 for c in chosen if c.entry.slug not in near_ties)
    kept: list[Scored] = []
    for match in chosen:
        if match.entry.slug in near_ties:
            if room <= 0:
                continue
            room -= 1
        kept.append(match)
    return tuple(kept[:MAX_ANSWERS])


# "it", "this", and "that" as a word of its own ("is that allowed", "who pays for that"), not
# "that" joining a clause ("do they have to show that he...").
_POINTS_BACK = re.compile(
    r"\b(?:it|this)\b|\bthat\b(?=\s*(?:$|[?!.,]|is\b|was\b|be\b|means?\b|appl|happen|counts?\b|covers?\b|"
    r"under\b|for\b|in\b|on\b|by\b|from\b))",
    re.IGNORECASE,
)


def leans_on_what_came_before(piece: str) -> bool:
    """Does this part point back at the part before it ("which law allows it?")?"""
    return _POINTS_BACK.search(piece) is not None


def resolve_pointing_back(piece: str, before: str, answered: Entry) -> str:
    """The part with its "it" (or "that", "this") read as what the part before it asked about:
    the words of that part which the earlier answer's title and keywords also use ("When can I
    ask for a personal budget, and where would it show up in the plan?" -> "where would personal
    budget show up in the plan?"); the whole part before it when none do."""
    named = set(words(" ".join((answered.title, *answered.keywords)))) - QUESTION_WORDS
    subject = " ".join(w for w in re.findall(r"[\w'-]+", before) if set(words(w)) & named) or before
    return _POINTS_BACK.sub(subject, piece, count=1)


def _fair_match(index: AnswerIndex, text: str, topic_weights: Mapping[str, float]) -> bool:
    """The NLU model is sure of a SEND topic and the words are fairly close to an answer: a SEND
    question in everyday words ("can they make him go part time?")."""
    ranked = index.rank(text, topic_weights, limit=1)
    return bool(ranked) and ranked[0].score >= FAIR_MATCH_AT


def _confident(match: Scored, topic: str | None, about_send: bool, runner_up: float | None = None) -> bool:
    if not about_send:
        return match.score >= ANSWER_WITHOUT_SEND_WORDS_AT
    if match.score >= ANSWER_AT:
        return True
    if topic is not None and match.entry.topic == topic and match.score >= ANSWER_WITH_TOPIC_AT:
        return True
    return runner_up is not None and match.score >= CLEAR_AT and match.score >= CLEAR_RATIO * runner_up


# Intents whose reply is fixed (who the SENCo is, what we hold about you, what the bot can
# do): the model sometimes picks one for an everyday message ("does magnesium help you
# sleep" read as "what do you hold about me"). Their reply is given only when the words fit.
_INTENT_WORDS = {
    "ask_contact_senco": r"\b(sen+d?cos?|co-?ordinator|contact|talk|speak|meet|meeting|phone|call|ring"
    r"|e-?mail|reach|appointment|who is|who's|person|someone|get hold|surgery|slot|book)\b",
    # about me, this chat or what I typed: "keep" or "information" alone is everyday ("which
    # houseplants are safe to keep", 2026-12-08)
    "ask_my_data": r"\b(data|privacy|private|gdpr|subject access|confidential|recorded|logging|logged"
    r"|conversations?|convo|chats?|messages|history|about me|on me)\b"
    r"|(?=.*\b(my|our|me|what i|what i've|i've (said|told|typed|written)"
    r"|i (said|say|wrote|typed|told|tell))\b)"
    r"(?=.*\b(hold|holding|keep|kept|store|stored|save|saved|record|records|information|info|details"
    r"|remember|see|sees|read|copy|happens)\b)",
    # this chat, my data or what I said: deleting an app or photos is an everyday question
    "erase_my_data": r"\b(this|my|our|the|these|your) (chat|chats|convo|conversation|conversations|messages"
    r"|data|history|details|info|information|records?|system)\b"
    r"|\b(everything|evrything|all|what|anything) (i|i've|ive)( [a-z]+)?"
    r" (said|say|typed|told|wrote|written|put)\b"
    r"|\b(forget|erase|delete|delte|remove|wipe|scrub|bin|destroy) (me|it|that|this|everything)\b"
    r"|\b(about|on) me\b|\bright to (be forgotten|erasure)\b|\bforget\b",
    "help": r"\b(help|what can you|what do you|how does this|how do you work|options|menu|start|can you do"
    r"|what can i|what is this|who are you|instructions)\b",
    "bot_challenge": r"\b(bot|robot|human|person|real|ai|computer|machine|automated|chat ?gpt|program)\b",
}


def words_fit_intent(intent: str, text: str) -> bool:
    """For an intent with a fixed reply: do the words say what that intent is about?"""
    pattern = _INTENT_WORDS.get(intent)
    return pattern is None or not text.strip() or re.search(pattern, text, re.IGNORECASE) is not None
