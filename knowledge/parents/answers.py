"""Turning knowledge into short, kind replies with a source and buttons.

Pure functions over domain objects: no Rasa, no database session, so every reply
the bot can give is unit-tested as text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Mapping, Sequence

from knowledge.parents.articles import topic_titles
from knowledge.parents.local_offer import SearchOutcome, ServiceSummary
from knowledge.schools.profile import SchoolProfile, short_school_name
from knowledge.shared.models import Article
from knowledge.shared.replies import NO, Button, Reply

MAX_FOLLOW_UPS = 2

CONTACT_TOPIC = "contact_senco"
LOCAL_OFFER_SEARCH = "search_local_offer"
OTHER_NATION_TOPIC = "other_nation"

FIXED_BUTTON_LABELS = {
    CONTACT_TOPIC: "Talk to a person",
    LOCAL_OFFER_SEARCH: "Find local services",
}


def topic_payload(topic: str) -> str:
    """The button payload that asks about `topic` (an intent, so no NLU guesswork)."""
    return f"/{topic}" if topic == LOCAL_OFFER_SEARCH else f"/ask_{topic}"


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def person_line(profile: SchoolProfile) -> str:
    """The 'talk to a person' line every answer ends with."""
    senco = profile.senco
    line = f"Talk to a person: {senco.name}, our SENCo, {senco.contact_line()}."
    if profile.sendiass.name and (profile.sendiass.phone or profile.sendiass.url):
        route = profile.sendiass.phone or profile.sendiass.url
        line += f" Free, impartial advice: {profile.sendiass.name}, {route}."
    return line


def _buttons(
    topics: Sequence[str], titles: Mapping[str, str], *, with_person: bool = True
) -> tuple[Button, ...]:
    buttons: list[Button] = []
    for topic in topics:
        title = FIXED_BUTTON_LABELS.get(topic) or titles.get(topic)
        if title and topic != CONTACT_TOPIC and len(buttons) < MAX_FOLLOW_UPS:
            buttons.append(Button(title, topic_payload(topic)))
    if with_person:
        buttons.append(Button(FIXED_BUTTON_LABELS[CONTACT_TOPIC], topic_payload(CONTACT_TOPIC)))
    return tuple(buttons)


def article_reply(
    article: Article,
    profile: SchoolProfile,
    all_articles: Sequence[Article],
    *,
    preface: str = "",
) -> Reply:
    """Summary, up to three details, the source with its checked-on date, a person to ask."""
    lines = [preface] if preface else []
    lines.append(article.summary)
    details = [f"• {d}" for d in article.details]  # the loader allows no more than are shown
    if details:
        lines.append("\n".join(details))
    source = f"Source: {article.source_title}"
    if article.source_url:
        source += f" ({article.source_url})"
    source += f". Checked {long_date(article.checked_on)}."
    lines.append(source)
    lines.append(person_line(profile))
    buttons = _buttons(article.follow_ups, topic_titles(all_articles))
    return Reply("\n\n".join(lines), buttons)


def contact_reply(profile: SchoolProfile, all_articles: Sequence[Article]) -> Reply:
    """Who our SENCo is and how to reach them, plus independent advice."""
    senco = profile.senco
    parts = [f"Our SENCo at {profile.name} is {senco.name}."]
    routes = []
    if senco.email:
        routes.append(f"email {senco.email}")
    if senco.phone:
        routes.append(f"phone {senco.phone}")
    parts.append(f"You can {' or '.join(routes)}.")
    if senco.hours:
        parts.append(f"They are usually available {senco.hours}.")
    if senco.how_to_book:
        parts.append(senco.how_to_book)
    lines = [" ".join(parts)]
    if profile.sendiass.name:
        sendiass = [profile.sendiass.name]
        if profile.sendiass.phone:
            sendiass.append(f"phone {profile.sendiass.phone}")
        if profile.sendiass.url:
            sendiass.append(profile.sendiass.url)
        lines.append("For free, impartial advice from outside school: " + ", ".join(sendiass) + ".")
    buttons = _buttons(
        ["senco_role", "sen_information_report"], topic_titles(all_articles), with_person=False
    )
    return Reply("\n\n".join(lines), buttons)


def information_report_preface(profile: SchoolProfile) -> str:
    if profile.sen_information_report_url:
        return (
            f"You can read {profile.name}'s SEN information report here: {profile.sen_information_report_url}"
        )
    return ""


def other_nation_preface() -> str:
    return "I can only explain the law in England."


# --- local offer -------------------------------------------------------------------------


def indefinite_article(number: int) -> str:
    """'an' before numbers said with a vowel sound (8, 11, 18, 80...), else 'a'."""
    return "an" if str(number).startswith("8") or number in (11, 18) else "a"


def _ages(service: ServiceSummary) -> str:
    low, high = service.minimum_age, service.maximum_age
    if low is None and high is None:
        return "All ages"
    if high is None:
        return f"Ages {low} and over"
    return f"Ages {low or 0} to {high}"


def _service_lines(index: int, service: ServiceSummary) -> str:
    facts = [_ages(service)]
    if service.cost:
        facts.append(service.cost)
    if service.phones:
        facts.append(f"Phone {service.phones[0]}")
    if service.email:
        facts.append(service.email)
    text = f"{index}. {service.name}: {service.description} {'. '.join(facts)}."
    if service.url:
        text += f" {service.url}"
    if service.checked_on:
        text += f" (checked {long_date(service.checked_on)})"
    return text


def local_offer_reply(
    outcome: SearchOutcome,
    profile: SchoolProfile,
    *,
    looking_for: str,
    age: int | None,
) -> Reply:
    """The best few services, or an honest 'found nothing' with where to look next."""
    council = profile.local_authority or "the council"
    for_age = f" for {indefinite_article(age)} {age}-year-old" if age is not None else ""
    lines: list[str] = []
    if outcome.results:
        lines.append(f"Here is what I found in {council}'s local offer{for_age}:")
        lines.extend(_service_lines(i, s) for i, s in enumerate(outcome.results, 1))
    else:
        lines.append(f"I couldn't find {looking_for}{for_age} in {council}'s local offer.")
        for service in outcome.wrong_age:
            lines.append(f"There is {service.name}, but it is for {_ages(service).lower()}.")
    if profile.local_offer_url:
        lines.append(f"You can search the whole local offer here: {profile.local_offer_url}")
    lines.append(person_line(profile))
    return Reply("\n\n".join(lines), _buttons(["local_offer"], {"local_offer": "What the local offer is"}))


def ask_service_type_reply(service_type_labels: Sequence[str]) -> Reply:
    """When a parent wants 'local services' but has not said which kind."""
    examples = ", ".join(label.lower() for label in service_type_labels[:5])
    return Reply(
        "What kind of service are you looking for? For example: "
        f"{examples}. You can add your child's age, like 'speech therapy for a 6-year-old'."
    )


# --- conversation ------------------------------------------------------------------------

MAIN_TOPICS = ("sen_support", "request_assessment", "ehcp_timeline", "appeal")


def _menu(all_articles: Sequence[Article]) -> tuple[Button, ...]:
    titles = topic_titles(all_articles)
    buttons = [Button(titles[t], topic_payload(t)) for t in MAIN_TOPICS if t in titles]
    buttons.append(Button(FIXED_BUTTON_LABELS[LOCAL_OFFER_SEARCH], topic_payload(LOCAL_OFFER_SEARCH)))
    buttons.append(Button(FIXED_BUTTON_LABELS[CONTACT_TOPIC], topic_payload(CONTACT_TOPIC)))
    return tuple(buttons)


WHAT_I_CAN_DO = (
    "I can explain SEN support and EHCPs (education, health and care plans), "
    "the deadlines the council must keep, how to appeal, the local offer of services, "
    "and how to contact our SENCo."
)


def greeting_reply(profile: SchoolProfile, all_articles: Sequence[Article]) -> Reply:
    text = (
        f"Hello! I'm the SEND assistant for {profile.name}. {WHAT_I_CAN_DO}\n\n"
        "I'm an automated assistant. I give general information about the law in England, "
        "not advice about your child. Please don't type your child's name, date of birth "
        "or diagnosis."
    )
    if profile.privacy_notice_url:
        text += f" How we use your information: {profile.privacy_notice_url}"
    return Reply(text, _menu(all_articles))


def help_reply(profile: SchoolProfile, all_articles: Sequence[Article]) -> Reply:
    text = (
        f"{WHAT_I_CAN_DO} Ask in your own words, for example "
        '"How long does an EHCP take?" or "Is there speech therapy for my 5-year-old?"\n\n'
        + person_line(profile)
    )
    return Reply(text, _menu(all_articles))


def nothing_to_answer_reply(said: str, all_articles: Sequence[Article]) -> Reply:
    """A "yes", "no" or "ok" when no question was waiting for one: ask what they'd like, kindly."""
    lead = "No problem." if said == NO else "OK."
    return Reply(
        f"{lead} What would you like to do? Choose below, or ask in your own words.", _menu(all_articles)
    )


def fallback_reply(profile: SchoolProfile, all_articles: Sequence[Article]) -> Reply:
    text = (
        "Sorry, I can't help with that. I can only answer questions about special "
        f"educational needs and disabilities (SEND). {WHAT_I_CAN_DO}\n\n" + person_line(profile)
    )
    return Reply(text, _menu(all_articles))


def bot_challenge_reply(profile: SchoolProfile) -> Reply:
    return Reply(
        "I'm an automated assistant, not a person. " + person_line(profile),
        (Button(FIXED_BUTTON_LABELS[CONTACT_TOPIC], topic_payload(CONTACT_TOPIC)),),
    )


def thanks_reply() -> Reply:
    return Reply("You're welcome. If you have another question, just ask.")


def goodbye_reply() -> Reply:
    return Reply("Goodbye, and take care. You can come back and ask at any time.")


BAD_INPUT_TEXT = {
    "empty": 'I didn\'t get any words there. Please type your question, for example "What is an EHCP?"',
    "no_words": (
        "I can only read words, not emoji or symbols on their own. Please type your question in a few words."
    ),
    "markup_only": "I can't read code or web page markup. Please type your question in plain words.",
    "other_language": (
        "Sorry, I can only answer in English at the moment. "
        "Please ask the school office for help in your language."
    ),
}


def bad_input_reply(issue: str, profile: SchoolProfile) -> Reply:
    text = BAD_INPUT_TEXT.get(issue, BAD_INPUT_TEXT["empty"])
    if issue == "other_language" and profile.sendiass.name:
        text += f" {profile.sendiass.name} ({profile.sendiass.phone}) may also be able to help."
    return Reply(text)


# --- safeguarding -----------------------------------------------------------------------
# Who is at risk decides the help given (knowledge.safeguarding.screening.GROUPS), most urgent first:
# danger now (999, then the school), the writer thinking of suicide or self-harm, domestic
# abuse at home, a child being harmed. Every number comes from knowledge/content/helplines.yml.


def choose_school_reply(schools: Sequence[tuple[str, str]]) -> Reply:
    """A trust's bot asked without a school's link: answers need the school's own contacts."""
    text = (
        "This assistant answers for several schools, and I don't know which one is yours. "
        "Please open the chat from your school's website (or its Telegram link), so I can give "
        "you the right people to contact."
    )
    if 0 < len(schools) <= 12:
        text += " The schools are: " + ", ".join(name for _, name in schools) + "."
    return Reply(text)


def staff_choose_school_reply(schools: Sequence[tuple[str, str]]) -> Reply:
    """Staff of several schools (a shared SENCo) asked about the surgery without saying which school."""
    names = [short_school_name(name) for _, name in schools]
    example = names[-1] if names else "the school"
    return Reply(
        f"You work at {_and(names)}. Which school is this for? Say it in your message "
        f"(for example “... at {example}”), or write in that school's own Slack channel."
    )


def per_school(replies: Sequence[tuple[str, Reply]]) -> Reply:
    """One reply for a SENCo shared by several schools: each school's part under its name."""
    parts, buttons, custom = [], [], []
    for name, reply in replies:
        parts.append(f"{short_school_name(name)}:\n{reply.text}")
        buttons.extend(reply.buttons)
        custom.extend(reply.custom)
    return Reply("\n\n".join(parts), tuple(buttons), tuple(custom))


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# the nations, and their largest cities ("moving to Cardiff")
_NATION = re.compile(
    r"\b(wales|welsh|scotland|scottish|northern ireland|cymru|cardiff|swansea|glasgow|edinburgh|"
    r"aberdeen|dundee|belfast|derry|londonderry)\b",
    re.IGNORECASE,
)


def mentions_other_nation(text: str) -> bool:
    """True when a question is about Wales, Scotland or Northern Ireland."""
    return bool(_NATION.search(text or ""))


# --- specific answers (issue #15) ----------------------------------------------------------


def _source_line(entry: Article) -> str:
    source = f"Source: {entry.source_title}"
    if entry.source_url:
        source += f" ({entry.source_url})"
    return source + f". Checked {long_date(entry.checked_on)}."


def answer_payload(entry: Article) -> str:
    """A button that asks an answer's question: its first wording, read like a typed question."""
    return entry.questions[0] if entry.questions else entry.title


def specific_answers_reply(
    entries: Sequence[Article],
    profile: SchoolProfile,
    *,
    related: Sequence[Article] = (),
    unanswered_part: bool = False,
) -> Reply:
    """One answer, or one per part of a two- or three-part question: each answers first,
    then at most two details and its source; then who to talk to. `related`: other specific
    questions offered as buttons."""
    blocks = []
    for entry in entries:
        lines = [f"{entry.title}:" if len(entries) > 1 else "", entry.summary]
        lines += [f"• {d}" for d in entry.details]
        lines.append(_source_line(entry))
        blocks.append("\n".join(line for line in lines if line))
    if unanswered_part:
        blocks.append("I don't have a reliable answer to the other part of your question.")
    blocks.append(person_line(profile))
    shown = {e.slug for e in entries}
    buttons = [Button(r.title, answer_payload(r)) for r in related if r.slug not in shown][:MAX_FOLLOW_UPS]
    buttons.append(Button(FIXED_BUTTON_LABELS[CONTACT_TOPIC], topic_payload(CONTACT_TOPIC)))
    return Reply("\n\n".join(blocks), tuple(buttons))


def overview_with_questions_reply(
    article: Article, profile: SchoolProfile, all_articles: Sequence[Article], questions: Sequence[Article]
) -> Reply:
    """A broad question: the topic's overview, and its specific questions as buttons."""
    reply = article_reply(article, profile, all_articles)
    buttons = [Button(q.title, answer_payload(q)) for q in questions[:3]]
    buttons.append(Button(FIXED_BUTTON_LABELS[CONTACT_TOPIC], topic_payload(CONTACT_TOPIC)))
    return Reply(reply.text, tuple(buttons))


def no_reliable_answer_reply(profile: SchoolProfile, overview: Article | None = None) -> Reply:
    """A SEND question the bank has no close answer to: say so, and who can help."""
    text = (
        "I'm sorry, I don't have a reliable answer to that. I have passed the question on "
        "(without your name) so the school can add an answer.\n\n" + person_line(profile)
    )
    buttons = []
    if overview is not None:
        buttons.append(Button(overview.title, topic_payload(overview.topic)))
    buttons.append(Button(FIXED_BUTTON_LABELS[CONTACT_TOPIC], topic_payload(CONTACT_TOPIC)))
    return Reply(text, tuple(buttons))


def joined(first: Reply, second: Reply) -> Reply:
    """Two answers to two parts of one message, in one reply: the first's 'talk to a person'
    line is dropped (the second ends with it), and the buttons are the second's."""
    blocks = first.text.split("\n\n")
    if blocks and blocks[-1].startswith("Talk to a person"):
        blocks = blocks[:-1]
    return Reply("\n\n".join([*blocks, second.text]), second.buttons or first.buttons)
