"""The parent Q&A in one place: what the custom actions call.

Each public method is one unit of work: it opens a short-lived session, reads what
it needs, and returns a `Reply`. It never raises for a user's question: anything
unexpected becomes the honest fallback reply, and the error is logged without the
message text.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from sqlalchemy.orm import Session

from knowledge.parents import answers, search, unanswered
from knowledge.parents.articles import ANSWER, ARTICLE, content_version, visible_articles
from knowledge.parents.local_offer import search_services
from knowledge.parents.retrieval import AnswerIndex, Entry
from knowledge.parents.understanding import Reading, content_words, is_about_send, read_question
from knowledge.safeguarding import replies as safeguarding_replies
from knowledge.safeguarding import screening as safeguarding
from knowledge.safeguarding.records import answer_check, record_concern
from knowledge.safeguarding.second_opinion import second_opinion
from knowledge.schools.profile import read_profile
from knowledge.schools.tenancy import all_schools, local_offer_dataset
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Article
from knowledge.shared.replies import Reply
from knowledge.shared.settings import Settings
from knowledge.text.ages import extract_age
from knowledge.text.glossary import ENTITY_AREA_OF_NEED, ENTITY_SERVICE_TYPE, Glossary, load_glossary

log = logging.getLogger(__name__)

_SERVICE_WORD = re.compile(
    r"\b(groups?|clubs?|services?|activit(?:y|ies)|classes|sessions?|schemes?|camps?|teams?|"
    r"swimming|sports?|playgroups?|support groups?)\b",
    re.IGNORECASE,
)

# Words of someone looking for a service, not asking a rule ("is there a...", "any clubs...").
_LOOKS_FOR_A_SERVICE = re.compile(
    rf"{_SERVICE_WORD.pattern}|\b(is there|are there|any|anything|anywhere|find|looking for|where can|"
    r"near|nearby|around here|recommend|who offers|who provides|sign up|refer)\b",
    re.IGNORECASE,
)

INTENT_PREFIX = "ask_"


def topic_of_intent(intent: str) -> str | None:
    """`ask_ehcp_timeline` -> `ehcp_timeline`; None for intents that are not topics."""
    return intent[len(INTENT_PREFIX) :] if intent.startswith(INTENT_PREFIX) else None


class Assistant:
    """Answers for one school (the deployment's school unless `school_ref` is given)."""

    def __init__(self, settings: Settings, school_ref: str | None = None) -> None:
        self.settings = settings
        self.school_ref = school_ref

    @property
    def glossary(self) -> Glossary:
        return load_glossary(self.settings.content_dir / "glossary.yml")

    # --- questions ----------------------------------------------------------------------

    def answer_question(
        self,
        text: str,
        ranking: Iterable[dict] = (),
        *,
        channel: str = "unknown",
        staff: bool = False,
        topic_if_unsure: str | None = None,
    ) -> Reply:
        """The specific answer to each part of the question; a topic's overview for a broad
        question; honesty (and a note for the school) for a SEND question with no close answer;
        a kind decline for anything else. `ranking`: the NLU model's intent ranking.
        `topic_if_unsure`: the overview to give rather than a decline, for a message the sender
        has just told us is an everyday question about their child."""
        with unit_of_work(self.settings.database_url) as session:  # read once; replies are built after
            profile = read_profile(session, self.school_ref)
            content = school_content(session, self.settings.database_url, profile.ref)
        everything, bank = content.articles, content.bank(staff)
        # the overviews compete too: "what is an EHCP?" is best answered by the overview itself
        reading = read_question(text, content.index(staff), topic_weights(ranking))
        if answers.mentions_other_nation(text) and not _about_that_nation(reading):
            # "what do schools in Wales call the SENCo?": what the bank says about that nation
            reading = read_question(text, content.index(staff), {answers.OTHER_NATION_TOPIC: 1.0})
        if answers.mentions_other_nation(text) and not _about_that_nation(reading) and not reading.off_topic:
            # England's law answered for Wales would be wrong: the England-only overview instead
            # (a train to Edinburgh is no SEND question: declined below like any other)
            return self.answer_topic(answers.OTHER_NATION_TOPIC, text)
        service_part = next((p for p in reading.unanswered_parts if self._asks_for_a_service(p)), None)
        by_slug = {a.slug: a for a in [*bank, *everything]}
        overviews = [by_slug[m.entry.slug] for m in reading.answers if by_slug[m.entry.slug].kind == ARTICLE]
        if overviews and len(reading.answers) == 1:
            questions = [a for a in bank if a.topic == overviews[0].topic]
            return answers.overview_with_questions_reply(overviews[0], profile, everything, questions)
        if reading.answers:
            chosen = [by_slug[m.entry.slug] for m in reading.answers]
            answered = answers.specific_answers_reply(
                chosen,
                profile,
                related=_related(chosen[0], bank, reading),
                unanswered_part=bool(reading.unanswered_parts) and service_part is None,
            )
            if service_part is None:
                return answered
            # "...and is there a swimming group for autistic children on it?"
            return answers.joined(answered, self.answer_local_offer(service_part))
        match = search.confident_match(everything, text) if reading.about_send else None
        if match is not None:  # a school's own article, say
            preface = f"I think you are asking about this: {match.article.title}."
            return answers.article_reply(match.article, profile, everything, preface=preface)
        if self._terms_from((), text)[0]:  # names a kind of service: search the local offer
            return self.answer_local_offer(text)
        if topic_if_unsure is not None and any(a.topic == topic_if_unsure for a in everything):
            return self.answer_topic(topic_if_unsure, text)
        if reading.off_topic:
            return answers.fallback_reply(profile, everything)
        overview = next((a for a in everything if a.topic == reading.topic), None)
        if overview is not None and _is_broad(text):
            questions = [a for a in bank if a.topic == reading.topic]
            return answers.overview_with_questions_reply(overview, profile, everything, questions)
        self._keep_unanswered(text, profile.ref, reading.topic, channel)
        return answers.no_reliable_answer_reply(profile, overview)

    def _keep_unanswered(self, text: str, school_ref: str, topic: str | None, channel: str) -> None:
        """Kept for the school to answer; a failure to keep it never costs the person their reply."""
        try:
            unanswered.record(
                self.settings.database_url,
                school_ref=school_ref,
                text=text,
                topic_guess=topic,
                channel=channel,
            )
        except Exception:
            log.exception("could not keep an unanswered question (school %s)", school_ref)

    def answer_topic(self, topic: str, text: str = "") -> Reply:
        """The best article of `topic` for the question, with source and follow-ups."""
        if answers.mentions_other_nation(text) and topic != answers.OTHER_NATION_TOPIC:
            return self.answer_topic(answers.OTHER_NATION_TOPIC, text)
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            everything = visible_articles(session, profile.ref)
            if topic == answers.CONTACT_TOPIC:
                return answers.contact_reply(profile, everything)
            candidates = [a for a in everything if a.topic == topic]
            article = search.best_for_topic(candidates, text)
            if article is None:
                log.warning("no article for topic %s", topic)
                return answers.fallback_reply(profile, everything)
            preface = ""
            if topic == "sen_information_report":
                preface = answers.information_report_preface(profile)
            return answers.article_reply(article, profile, everything, preface=preface)

    def answer_service_search(
        self,
        text: str,
        entities: Iterable[dict] = (),
        ranking: Iterable[dict] = (),
        *,
        channel: str = "unknown",
        staff: bool = False,
    ) -> Reply:
        """A message the NLU model read as a local offer search. A question that looks for no
        service ("what's the walking distance for school transport?" names transport, and asks
        a rule) gets the answer bank's answer when the bank is sure of one; a search otherwise."""
        ranking = list(ranking)
        if text and not _LOOKS_FOR_A_SERVICE.search(text):
            with unit_of_work(self.settings.database_url) as session:
                profile = read_profile(session, self.school_ref)
                content = school_content(session, self.settings.database_url, profile.ref)
            reading = read_question(text, content.index(staff), topic_weights(ranking))
            specific = {a.slug for a in content.bank(staff)}
            answered = [m for m in reading.answers if m.entry.slug in specific]  # not only an overview
            if answered and not reading.unanswered_parts:
                return self.answer_question(text, ranking, channel=channel, staff=staff)
        return self.answer_local_offer(text, entities)

    def answer_local_offer(self, text: str, entities: Iterable[dict] = ()) -> Reply:
        """Search the local offer by service type, area of need, age and words."""
        service_types, areas = self._terms_from(entities, text)
        age = extract_age(text)
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            if not service_types and not areas and not search.terms(text):
                return answers.ask_service_type_reply([t.label for t in self.glossary.service_types])
            outcome = search_services(
                session,
                service_types=[t.key for t in service_types],
                areas_of_need=[t.key for t in areas],
                age=age,
                text=text,
                dataset=local_offer_dataset(session, profile.ref),
            )
            looks_for_a_service = service_types or areas or is_about_send(text) or _SERVICE_WORD.search(text)
            if not outcome.results and not looks_for_a_service:
                # nothing found, and nothing in the words about SEND or a service: not a local offer question
                return answers.fallback_reply(profile, visible_articles(session, profile.ref))
            if service_types:
                looking_for = f"a {service_types[0].label.lower()} service"
            elif areas:
                looking_for = f"a service for {areas[0].label.lower()} needs"
            else:
                looking_for = "a service matching your question"
            return answers.local_offer_reply(outcome, profile, looking_for=looking_for, age=age)

    def answer_unknown(self, text: str) -> Reply:
        """When the NLU model has no topic: the same search, without the model's help."""
        return self.answer_question(text)

    # --- conversation -------------------------------------------------------------------

    def fallback(self) -> Reply:
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            return answers.fallback_reply(profile, visible_articles(session, profile.ref))

    def nothing_to_answer(self, said: str) -> Reply:
        """A "yes" or "no" that no question was waiting for."""
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            return answers.nothing_to_answer_reply(said, visible_articles(session, profile.ref))

    def small_talk(self, intent: str) -> Reply:
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            if intent == "greet":
                return answers.greeting_reply(profile, visible_articles(session, profile.ref))
            if intent == "help":
                return answers.help_reply(profile, visible_articles(session, profile.ref))
            if intent == "bot_challenge":
                return answers.bot_challenge_reply(profile)
        if intent == "thanks":
            return answers.thanks_reply()
        if intent == "goodbye":
            return answers.goodbye_reply()
        return self.fallback()

    def safeguarding(
        self,
        *,
        already_recorded: bool,
        text: str,
        channel: str,
        sender_ref: str,
        child_voice: bool | None = None,
        message_id: str | None = None,
        groups: Sequence[str] = (),
        writer: str | None = None,
        model_sure: bool = True,
    ) -> Reply:
        """The safeguarding reply. Records the concern first unless the input guard already did.

        `groups`: who is at risk, as the screen found (knowledge.safeguarding.screening.GROUPS). When only
        the NLU model saw a concern, its second opinion decides: someone at risk now, the writer,
        or abuse at home gets the reply for them at once when the model is sure (its top intent,
        `model_sure`); anything else is checked with the sender first. The reply never depends
        on the record: if recording fails, the error is logged loudly and the person still gets
        the reply.
        """
        if child_voice is None:
            child_voice = safeguarding.looks_like_a_child_writing(text)
        if not already_recorded:  # only the NLU model saw it
            opinion = second_opinion(text)
            groups, writer = (opinion.groups if model_sure else ()), opinion.writer
            try:
                record_id = record_concern(
                    self.settings.database_url,
                    channel=channel,
                    sender_ref=sender_ref,
                    message=text,
                    detected_by="nlu",
                    kinds=",".join(groups),
                    child_voice=child_voice,
                    school_ref=self.school_ref,
                    # someone at risk now, the writer, abuse at home: the DSL is told at once;
                    # otherwise the sender is asked first
                    awaiting_answer=None
                    if groups
                    else dt.timedelta(minutes=self.settings.safeguarding_check_minutes),
                    message_id=message_id,
                )
                if not groups:
                    return safeguarding_replies.safeguarding_check_reply(record_id, staff=channel == "slack")
            except Exception:  # no record to check against: give the full reply
                log.exception(
                    "SAFEGUARDING concern from %s could NOT be recorded: check the database", sender_ref
                )
        return self._safeguarding_reply(channel, child_voice, groups, writer)

    def safeguarding_answer(
        self,
        *,
        sender_ref: str,
        yes: bool,
        record_id: int | None,
        channel: str,
        rankings: dict[str, list[dict]] | None = None,
    ) -> Reply:
        """The sender answered "is a child at risk?": the full reply, or the answer to their question."""
        outcome = answer_check(self.settings.database_url, sender_ref, yes=yes, record_id=record_id)
        if yes:
            child_voice = safeguarding.looks_like_a_child_writing(outcome.text) if outcome.text else False
            opinion = second_opinion(outcome.text)
            return self._safeguarding_reply(channel, child_voice, opinion.groups, opinion.writer)
        if outcome.record_id is None:
            return Reply("Thank you. What would you like to know?")
        ranking = (rankings or {}).get(outcome.text, [])
        answer = self.answer_as_ordinary(outcome.text, ranking, said_it_is_everyday=True, channel=channel)
        return Reply("Thank you for checking. Here is what I can tell you.\n\n" + answer.text, answer.buttons)

    def answer_as_ordinary(
        self,
        text: str,
        ranking: Iterable[dict],
        *,
        said_it_is_everyday: bool = False,
        channel: str = "unknown",
    ) -> Reply:
        """The model's best non-safeguarding reading of the message: for a message it read as a
        possible concern that is not about harm at all (a recipe, a phone bill), or that the
        sender said was an everyday question (`said_it_is_everyday`: then, rather than a
        decline, the overview of the topic the model read)."""
        ranking = [r for r in ranking if r.get("name") != "safeguarding_concern"]
        top = str((ranking[0] if ranking else {}).get("name") or "")
        if top == "search_local_offer":
            return self.answer_service_search(text, (), ranking, channel=channel)
        topic = None
        if said_it_is_everyday:
            topics = (topic_of_intent(str(r.get("name") or "")) for r in ranking)
            topic = next((t for t in topics if t is not None), None)
        return self.answer_question(text, ranking, channel=channel, topic_if_unsure=topic)

    def _safeguarding_reply(
        self, channel: str, child_voice: bool, groups: Sequence[str] = (), writer: str | None = None
    ) -> Reply:
        with unit_of_work(self.settings.database_url) as session:
            if self.school_ref is None and len(all_schools(session)) > 1:
                return safeguarding_replies.safeguarding_reply_without_school(
                    child_voice=child_voice, groups=groups, writer=writer
                )
            profile = read_profile(session, self.school_ref)
            if channel == "slack":  # only staff reach the bot through the signed Slack bridge
                return safeguarding_replies.staff_safeguarding_reply(profile, groups)
            return safeguarding_replies.safeguarding_reply(
                profile, child_voice=child_voice, groups=groups, writer=writer
            )

    def bad_input(self, issue: str) -> Reply:
        with unit_of_work(self.settings.database_url) as session:
            return answers.bad_input_reply(issue, read_profile(session, self.school_ref))

    # --- helpers ------------------------------------------------------------------------

    def _asks_for_a_service(self, text: str) -> bool:
        """A part of a question that looks for a service: a kind of service, or a need with
        a word like group, club or service ("is there a swimming group for autistic children")."""
        service_types, areas = self._terms_from((), text)
        return bool(service_types) or (bool(areas) and bool(_SERVICE_WORD.search(text)))

    def _terms_from(self, entities: Iterable[dict], text: str) -> tuple[list, list]:
        """Service types and areas of need from NLU entities, then from the words themselves."""
        glossary = self.glossary
        found: dict[str, list] = {ENTITY_SERVICE_TYPE: [], ENTITY_AREA_OF_NEED: []}
        for entity in entities:
            kind = entity.get("entity")
            if kind in found:
                term = glossary.canonical(kind, str(entity.get("value", "")))
                if term and term not in found[kind]:
                    found[kind].append(term)
        for kind, terms in found.items():
            for term in glossary.find_in_text(text, kind):
                if term not in terms:
                    terms.append(term)
        return found[ENTITY_SERVICE_TYPE], found[ENTITY_AREA_OF_NEED]


def topic_weights(ranking: Iterable[dict]) -> dict[str, float]:
    """The NLU model's confidence in each topic intent (`ask_<topic>`)."""
    weights: dict[str, float] = {}
    for candidate in ranking:
        topic = topic_of_intent(str(candidate.get("name") or ""))
        if topic is not None:
            weights[topic] = float(candidate.get("confidence") or 0.0)
    return weights


@dataclass
class SchoolContent:
    """One school's overviews and answers as stored at `version` (its `content_version`)."""

    version: tuple
    articles: tuple[Article, ...]
    answers: tuple[Article, ...]
    _indexes: dict[bool, weakref.ref] = field(default_factory=dict)

    def bank(self, staff: bool) -> list[Article]:
        """The answers this audience may be given: staff-only ones never on the parents' channels."""
        wanted = ("all", "staff" if staff else "parents")
        return [a for a in self.answers if a.audience in wanted]

    def index(self, staff: bool) -> AnswerIndex:
        """The search index over this audience's answers and the overviews. Held weakly once
        found: `_INDEXES` keeps the indexes (about 100 MB each), shared by schools whose content
        is the same, and this saves a message from recomputing the key to find it there."""
        held = self._indexes.get(staff)
        index = held() if held is not None else None
        if index is None:
            index = answer_index([*self.bank(staff), *self.articles])
            self._indexes[staff] = weakref.ref(index)
        return index


MAX_CACHED_SCHOOLS = 64  # a trust's schools (make bench-scale has 50); in tests, databases
_CONTENT: dict[tuple[str, str], SchoolContent] = {}
_LOADING = threading.Lock()


def school_content(session: Session, database_url: str, school_ref: str) -> SchoolContent:
    """This school's overviews and answers, read in full only when they have changed.

    Every message asks the database for the content's version (one small query), so an edit
    made by any process (`bot.cli reload`, the other action server) is seen on the next message;
    the rows, and the index built from them, are read again only when the version moves."""
    version = content_version(session, school_ref)
    key = (database_url, school_ref)
    content = _CONTENT.get(key)
    if content is not None and content.version == version:
        return content
    with _LOADING:
        content = _CONTENT.get(key)
        if content is None or content.version != version:
            # The version was read first, so rows newer than it only cost one more read later.
            rows = _shared(database_url, visible_articles(session, school_ref))
            bank = _shared(database_url, visible_articles(session, school_ref, kind=ANSWER))
            _CONTENT.pop(key, None)
            while len(_CONTENT) >= MAX_CACHED_SCHOOLS:
                _CONTENT.pop(next(iter(_CONTENT)))  # the longest held
            content = _CONTENT[key] = SchoolContent(version, rows, bank)
    return content


def _shared(database_url: str, rows: Sequence[Article]) -> tuple[Article, ...]:
    """`rows`, each as the copy another school already holds when it is the same stored row,
    unchanged since (the product's entries): a trust's schools keep one copy, not one each."""
    held = {
        (a.id, a.updated_at): a
        for (url, _), content in _CONTENT.items()
        if url == database_url
        for a in (*content.articles, *content.answers)
    }
    return tuple(held.get((a.id, a.updated_at), a) for a in rows)


_INDEXES: dict[tuple, AnswerIndex] = {}
_BUILDING = threading.Lock()


def answer_index(bank: Sequence[Article]) -> AnswerIndex:
    """The search index over these answers, rebuilt only when one of them has changed.

    Building takes a second or two; the lock makes the first burst of messages after a start
    or a reload wait for one build instead of each running its own on the same two cores."""
    key = tuple((a.id, a.updated_at) for a in bank)
    index = _INDEXES.get(key)
    if index is not None:
        return index
    with _BUILDING:
        return _build_index(key, bank)


def _build_index(key: tuple, bank: Sequence[Article]) -> AnswerIndex:
    index = _INDEXES.get(key)
    if index is None:
        if len(_INDEXES) > 8:  # a few schools' banks; an edit makes a new one
            _INDEXES.clear()
        index = _INDEXES[key] = AnswerIndex(
            Entry(a.slug, a.topic, a.title, tuple(a.questions), tuple(a.keywords), _said(a)) for a in bank
        )
    return index


def _said(entry: Article) -> str:
    return " ".join((entry.summary, *entry.details))


# A broad question names a topic and little else ("tell me about EHCPs", "annual reviews?").
BROAD_MAX_WORDS = 2


def _about_that_nation(reading: Reading) -> bool:
    """Every part is matched to what the bank says about Wales, Scotland or Northern Ireland
    ("what's the Scottish version of an EHCP?"), not to England's law."""
    return bool(reading.answers) and all(m.entry.topic == answers.OTHER_NATION_TOPIC for m in reading.answers)


def _is_broad(text: str) -> bool:
    return len(content_words(text)) <= BROAD_MAX_WORDS


def _related(first: Article, bank: Sequence[Article], reading: Reading) -> list[Article]:
    """Other questions of the first answer's topic, offered as buttons (in the bank's order)."""
    shown = {m.entry.slug for m in reading.answers}
    return [a for a in bank if a.topic == first.topic and a.slug not in shown][:2]
