"""Rasa custom actions: thin glue between the dialogue and `knowledge.parents.assistant`.

Every action reads the intent, entities and words of the latest message, asks the
Assistant for a `Reply` (in a worker thread: database calls must not block the
action server's event loop) and sends it. A failure becomes a friendly apology,
never a stack trace, and the log records the action name, not the message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from abc import ABCMeta, abstractmethod
from typing import Any, Callable, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from knowledge.broadcasts.desk import BroadcastDesk
from knowledge.parents import answers
from knowledge.parents.assistant import Assistant, topic_of_intent
from knowledge.parents.understanding import words_fit_intent
from knowledge.privacy import rights as privacy
from knowledge.safeguarding import replies as safeguarding_replies
from knowledge.safeguarding.alerts import acknowledge_from_slack
from knowledge.safeguarding.second_opinion import second_opinion
from knowledge.schools.tenancy import school_for_message, school_of_button
from knowledge.shared import replies
from knowledge.shared.action_ledger import run_once
from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.replies import Reply
from knowledge.shared.settings import get_settings
from knowledge.surgery.desk import SurgeryDesk

log = logging.getLogger(__name__)

# Entities that only button payloads carry (see knowledge.surgery.desk).
SURGERY_ENTITIES = (
    "slot_id", "topic", "note", "move", "booking_id", "confirm",
    "pattern", "day", "start", "end", "never_mind", "extra", "broadcast_id",
)  # fmt: skip

SURGERY_INTENTS = (
    "book_surgery", "list_free_slots", "my_bookings", "move_booking", "cancel_booking",
    "open_surgery", "block_out", "whos_booked", "choose_slot",
)  # fmt: skip
BROADCAST_INTENTS = ("send_broadcast", "list_broadcasts", "cancel_broadcast", "edit_broadcast")

# What a SENCo shared by several schools sees for all of them at once.
READ_ONLY_INTENTS = ("list_free_slots", "my_bookings", "whos_booked", "list_broadcasts")

SORRY = (
    "Sorry, something went wrong on my side. Please try again in a moment. "
    "If it keeps happening, please contact the school office."
)


def question_text(tracker: Tracker) -> str:
    """The user's words; button payloads such as '/ask_appeal' carry no words."""
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if text.startswith("/") else text


def intent_name(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def staff_on_slack(tracker: Tracker) -> str | None:
    """The Slack user id, only for a message that came through the signed Slack bridge."""
    if tracker.get_latest_input_channel() != "slack":
        return None
    slack = (tracker.latest_message.get("metadata") or {}).get("slack") or {}
    return slack.get("user_id") or None


def once(tracker: Tracker, action: str, database_url: str, work: Callable[[], Reply]) -> Reply:
    """`work()`, unless this delivered message already ran `action` (see `knowledge.shared.action_ledger`)."""
    return run_once(
        database_url,
        sender_ref=sender_ref(tracker.sender_id),
        message_id=tracker.latest_message.get("message_id"),
        action=action,
        work=work,
    )


# What a yes/no question's buttons do, kept for the next message: a typed "yes" or "no"
# then does the same (see ActionAnswerYesNo). Only the very next message can use it.
PENDING_ANSWERS = "pending_answers"


def send(dispatcher: CollectingDispatcher, reply: Reply) -> List[Dict[str, Any]]:
    """Send the reply; the events that remember its yes/no buttons, if it asked a question."""
    dispatcher.utter_message(text=reply.text, buttons=[b.as_dict() for b in reply.buttons])
    for payload in reply.custom:
        dispatcher.utter_message(json_message=payload)
    typed = replies.typed_answers(reply)
    return [SlotSet(PENDING_ANSWERS, typed)] if typed else []


class AssistantAction(Action, metaclass=ABCMeta):
    """Runs `self.reply(...)` off the event loop and sends the result.

    Abstract, so that the action server registers only the concrete actions below.
    """

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply: ...

    # A parent in a trust deployment who came without their school's link is asked to use
    # it: answers carry the school's own contacts, so they are never guessed.
    needs_a_school = True
    # Answers to a parent's question: checked first when the model half-reads a concern.
    checks_for_concern = False
    # Records, alerts or erases something: run once per delivered message, however often
    # the turn is run (a Rasa server that died after its action ran).
    changes_something = False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        settings = get_settings()

        def work() -> Reply:
            choice = school_for_message(
                settings.database_url, tracker.latest_message.get("metadata"), staff_on_slack(tracker)
            )
            assistant = Assistant(settings, choice.ref or choice.first_known)
            if self.checks_for_concern and possible_concern(tracker):
                return assistant.safeguarding(
                    already_recorded=False,
                    text=question_text(tracker),
                    channel=tracker.get_latest_input_channel() or "unknown",
                    sender_ref=sender_ref(tracker.sender_id),
                    message_id=tracker.latest_message.get("message_id"),
                    model_sure=False,  # a second opinion only: ask before alerting anyone
                )
            if choice.ref is None and not choice.known_are_theirs and self.needs_a_school:
                return answers.choose_school_reply(choice.known)
            return self.reply(assistant, tracker)

        def work_once() -> Reply:
            return once(tracker, self.name(), settings.database_url, work)

        try:
            reply = await asyncio.to_thread(work_once if self.changes_something else work)
        except Exception:  # the person gets an apology; the log gets the details
            log.exception("action %s failed (sender %s)", self.name(), tracker.sender_id)
            dispatcher.utter_message(text=SORRY)
            return []
        return send(dispatcher, reply)


class ActionAnswerTopic(AssistantAction):
    """`ask_<topic>` intents: the best article of that topic."""

    checks_for_concern = True

    def name(self) -> str:
        return "action_answer_topic"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        slack_user_id = staff_on_slack(tracker)
        if slack_user_id and intent_name(tracker) == "ask_contact_senco":
            # Staff asking to see the SENCo mean her surgery: offer its free slots.
            return SurgeryDesk(assistant.settings, school_ref=assistant.school_ref).handle(
                "book_surgery", question_text(tracker), {}, slack_user_id
            )
        topic = topic_of_intent(intent_name(tracker))
        text = question_text(tracker)
        contact = topic == "contact_senco" and words_fit_intent("ask_contact_senco", text)
        if topic is not None and (not text or contact):  # a topic's button, or "who is the SENCo?"
            return assistant.answer_topic(topic, text)
        return answer_the_question(assistant, tracker)


class ActionSearchLocalOffer(AssistantAction):
    """`search_local_offer`: services by type, need and age."""

    checks_for_concern = True

    def name(self) -> str:
        return "action_search_local_offer"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        entities = tracker.latest_message.get("entities") or []
        return assistant.answer_service_search(
            question_text(tracker),
            entities,
            intent_ranking(tracker) or [tracker.latest_message.get("intent") or {}],
            channel=tracker.get_latest_input_channel() or "unknown",
            staff=staff_on_slack(tracker) is not None,
        )


class ActionAnswerUnknown(AssistantAction):
    """Low NLU confidence or out of scope: a clear article match, or an honest 'can't help'."""

    checks_for_concern = True

    def name(self) -> str:
        return "action_answer_unknown"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        slack_user_id = staff_on_slack(tracker)
        if slack_user_id:
            desk = SurgeryDesk(assistant.settings, school_ref=assistant.school_ref)
            menu = desk.menu_if_about_surgery(question_text(tracker), slack_user_id)
            if menu is not None:
                return menu
        return answer_the_question(assistant, tracker)


class ActionDefaultFallback(AssistantAction):
    """The dialogue policy is unsure what to do next: say what the bot can do, and take the
    message back out of the dialogue (as Rasa's own fallback does), so that the next thing
    the policy predicts is to listen, never this action again and again."""

    def name(self) -> str:
        return "action_default_fallback"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        return assistant.fallback()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        await super().run(dispatcher, tracker, domain)
        return [UserUtteranceReverted()]


class ActionSmallTalk(AssistantAction):
    """greet, goodbye, thanks, help, bot_challenge."""

    def name(self) -> str:
        return "action_small_talk"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        if not words_fit_intent(intent_name(tracker), question_text(tracker)):
            return answer_the_question(assistant, tracker)  # "how many bones are in the body?"
        return assistant.small_talk(intent_name(tracker))


class ActionBadInput(AssistantAction):
    """Messages the input guard flagged: empty, emoji only, markup only, another language."""

    def name(self) -> str:
        return "action_bad_input"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        issue = next(tracker.get_latest_entity_values("input_issue"), None) or "no_words"
        return assistant.bad_input(issue)


class ActionSafeguarding(AssistantAction):
    """A possible safeguarding concern: record it (if the input guard has not) and reply."""

    needs_a_school = False  # the safeguarding reply comes first, school known or not
    # (no ledger needed: a concern is recorded and alerted once per message_id by record_concern)

    def name(self) -> str:
        return "action_safeguarding"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        metadata = tracker.latest_message.get("metadata") or {}
        flagged = metadata.get("safeguarding") or {}
        if flagged.get("check") and str(flagged.get("record_id") or "").isdigit():
            # the screen matched, but in a SEND context: the input guard recorded it to check first
            channel = tracker.get_latest_input_channel() or "unknown"
            return safeguarding_replies.safeguarding_check_reply(
                int(flagged["record_id"]), staff=channel == "slack"
            )
        if "safeguarding" not in metadata and not worth_a_second_look(tracker):
            # only the model read it as a concern, and it is not about harm to anyone (a recipe,
            # a film, a phone bill): answer it as the everyday question it is
            channel = tracker.get_latest_input_channel() or "unknown"
            text = question_text(tracker)
            return assistant.answer_as_ordinary(text, intent_ranking(tracker), channel=channel)
        return assistant.safeguarding(
            already_recorded="safeguarding" in metadata,  # the input guard saw it first
            text=tracker.latest_message.get("text") or "",
            channel=tracker.get_latest_input_channel() or "unknown",
            sender_ref=sender_ref(tracker.sender_id),
            child_voice=flagged.get("child_voice"),
            message_id=tracker.latest_message.get("message_id"),
            groups=tuple(flagged.get("groups") or ()),  # who is at risk, as the screen found
            writer=flagged.get("writer"),
        )


class ActionSafeguardingAnswer(AssistantAction):
    """The sender's answer to "is a child at risk?" (a button, or a typed yes or no)."""

    needs_a_school = False  # as for the safeguarding reply itself
    changes_something = True

    def name(self) -> str:
        return "action_safeguarding_answer"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        answer = next(tracker.get_latest_entity_values("answer"), None)
        yes = answer == "yes" if answer else intent_name(tracker) == "affirm"
        record_id = next(tracker.get_latest_entity_values("record_id"), None)
        return assistant.safeguarding_answer(
            sender_ref=sender_ref(tracker.sender_id),
            yes=yes,
            record_id=int(record_id) if str(record_id or "").isdigit() else None,
            channel=tracker.get_latest_input_channel() or "unknown",
            rankings=_recent_rankings(tracker),
        )


def answer_the_question(assistant: Assistant, tracker: Tracker) -> Reply:
    """The specific answers to the latest message (knowledge.parents.understanding)."""
    return assistant.answer_question(
        question_text(tracker),
        intent_ranking(tracker) or [tracker.latest_message.get("intent") or {}],
        channel=tracker.get_latest_input_channel() or "unknown",
        staff=staff_on_slack(tracker) is not None,
    )


def _recent_rankings(tracker: Tracker, last: int = 5) -> dict[str, list[dict]]:
    """The model's intent ranking of each of the sender's last few messages, by their text
    (the message they were asked about is among them, unless the screen replaced it)."""
    rankings: dict[str, list[dict]] = {}
    for event in reversed(tracker.events):
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        if text and not text.startswith("/"):
            rankings.setdefault(text, list((event.get("parse_data") or {}).get("intent_ranking") or []))
            if len(rankings) >= last:
                break
    return rankings


# A parent's question is checked first ("is a child at risk?") when the model gives the
# safeguarding intent at least this much, even if another intent comes first: measured on
# the development sets, 0.1 caught 12 more of 337 disclosures the patterns don't see, for 11
# more checks on 395 hard ordinary questions.
SECOND_OPINION = 0.1


def possible_concern(tracker: Tracker) -> bool:
    """The model gives the safeguarding intent some weight, and the words are about harm or
    someone's safety: never a check question from noise (a recipe, a film, a phone bill)."""
    if not question_text(tracker) or staff_on_slack(tracker):
        return False
    return any(
        r.get("name") == "safeguarding_concern" and (r.get("confidence") or 0) >= SECOND_OPINION
        for r in intent_ranking(tracker)
    ) and worth_a_second_look(tracker)


def intent_ranking(tracker: Tracker) -> list[dict]:
    return list(tracker.latest_message.get("intent_ranking") or [])


def worth_a_second_look(tracker: Tracker) -> bool:
    """Someone at risk by the looser wordings, or at least about harm (knowledge.safeguarding.screening)."""
    opinion = second_opinion(question_text(tracker))
    return bool(opinion.groups) or opinion.ask


class ActionMyData(AssistantAction):
    """What the bot holds about this person: a summary of this conversation."""

    def name(self) -> str:
        return "action_my_data"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        if not words_fit_intent("ask_my_data", question_text(tracker)):
            return answer_the_question(assistant, tracker)  # "does magnesium help you sleep?"
        also = privacy.reminder_subscriptions(assistant.settings, tracker.sender_id)
        return privacy.what_we_hold_reply(tracker.events, assistant.settings.chat_log_retention_days, also)


class ActionAskEraseConfirmation(AssistantAction):
    def name(self) -> str:
        return "action_ask_erase_confirmation"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        if not words_fit_intent("erase_my_data", question_text(tracker)):
            return answer_the_question(assistant, tracker)  # "what can I safely delete on my phone?"
        return privacy.confirm_erase_reply()


class ActionEraseMyData(AssistantAction):
    """Confirmed: queue the deletion of this conversation (carried out within a minute)."""

    changes_something = True

    def name(self) -> str:
        return "action_erase_my_data"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        if not asked_to_erase(tracker):  # a yes to another reply: nothing is deleted
            return assistant.nothing_to_answer(replies.YES)
        privacy.request_erasure(assistant.settings, tracker.sender_id)
        return privacy.erased_reply()


def asked_to_erase(tracker: Tracker) -> bool:
    """The bot's last message, just before this yes, was the question "delete this whole
    conversation?": the rule that runs the erasure only sees the action that came before."""
    said = [e for e in last_turn(tracker) if e.get("event") == "bot"]
    return bool(said) and said[-1].get("text") == privacy.confirm_erase_reply().text


class ActionKeepMyData(AssistantAction):
    def name(self) -> str:
        return "action_keep_my_data"

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        return privacy.kept_reply()


class ActionSurgery(Action):
    """Staff intents about the SENCo's surgery, answered by `knowledge.surgery.desk`.

    The Slack user id is read only from a message that came through the signed Slack
    bridge (channel "slack"); on any other channel the person is not treated as staff.
    """

    def name(self) -> str:
        return "action_surgery"

    def desk(self, settings, school_ref: str | None) -> SurgeryDesk | BroadcastDesk:
        return SurgeryDesk(settings, school_ref=school_ref)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        message = tracker.latest_message
        slack_user_id = staff_on_slack(tracker)
        if slack_user_id is None and not button_press(message.get("text") or ""):
            # On the parents' channels the staff-only intents are never chosen: the words are
            # answered as the parent's question they are.
            return await ActionAnswerUnknown().run(dispatcher, tracker, domain)
        entities = {
            str(e.get("entity")): str(e.get("value"))
            for e in message.get("entities") or ()
            if e.get("entity") in SURGERY_ENTITIES
        }
        # Where the reply goes (a DM, or privately in a channel), so it says where its calendar file went.
        slack = (message.get("metadata") or {}).get("slack") or {}
        entities["channel_type"] = str(slack.get("channel_type") or "")
        settings = get_settings()

        def work() -> Reply:
            text, intent = question_text(tracker), intent_name(tracker)
            choice = school_for_message(settings.database_url, message.get("metadata"), slack_user_id, text)
            if choice.ref is None and choice.known_are_theirs:  # staff of several schools
                theirs = dict(choice.known)
                with unit_of_work(settings.database_url) as session:
                    pressed = school_of_button(session, entities)
                if pressed in theirs:
                    return self.desk(settings, pressed).handle(intent, text, entities, slack_user_id)
                if intent in READ_ONLY_INTENTS:  # one view over all their schools
                    return answers.per_school(
                        [(name, self.desk(settings, ref).handle(intent, text, entities, slack_user_id))
                         for ref, name in choice.known]
                    )  # fmt: skip
                return answers.staff_choose_school_reply(choice.known)
            desk = self.desk(settings, choice.ref)
            return desk.handle(intent, text, entities, slack_user_id)

        try:  # books, moves, broadcasts...: once per delivered message
            reply = await asyncio.to_thread(once, tracker, self.name(), settings.database_url, work)
        except Exception:
            log.exception("action %s failed (sender %s)", self.name(), sender_ref(tracker.sender_id))
            dispatcher.utter_message(text=SORRY)
            return []
        return send(dispatcher, reply)


class ActionBroadcast(ActionSurgery):
    """The SENCo's broadcasts (send, list, edit, cancel), answered by `knowledge.broadcasts.desk`."""

    def name(self) -> str:
        return "action_broadcast"

    def desk(self, settings, school_ref: str | None) -> SurgeryDesk | BroadcastDesk:
        return BroadcastDesk(settings, school_ref=school_ref)


class ActionAcknowledgeConcern(Action):
    """The DSL or deputy pressed 'acknowledge' in a safeguarding alert (Slack only)."""

    def name(self) -> str:
        return "action_acknowledge_concern"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        slack_user_id = staff_on_slack(tracker)
        entities = tracker.latest_message.get("entities") or ()
        record_id = next((e.get("value") for e in entities if e.get("entity") == "record_id"), None)
        if not slack_user_id or record_id is None:
            dispatcher.utter_message(text="Safeguarding alerts can only be acknowledged by the DSL in Slack.")
            return []
        settings = get_settings()

        def work() -> Reply:
            return Reply(acknowledge_from_slack(settings.database_url, int(record_id), slack_user_id))

        try:
            text = (await asyncio.to_thread(once, tracker, self.name(), settings.database_url, work)).text
        except Exception:
            log.exception("action %s failed (sender %s)", self.name(), sender_ref(tracker.sender_id))
            text = SORRY
        dispatcher.utter_message(text=text)
        return []


class ActionAnswerYesNo(AssistantAction):
    """A typed "yes", "no", "ok" or "nope" (intents affirm and deny).

    Right after a yes/no question it does what the matching button does, as if clicked.
    When nothing was asked, it says so kindly and offers what the bot can do: a reply, and
    back to listening, never a loop. (Erasure and the safeguarding check have rules of
    their own, which Rasa's RulePolicy prefers as the longer match.)
    """

    def name(self) -> str:
        return "action_answer_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        said = replies.YES if intent_name(tracker) == "affirm" else replies.NO
        payload = (waiting_answers(tracker) or {}).get(said)
        pressed = button_press(payload) if payload else None
        if pressed is not None:
            intent, entities = pressed
            action = BUTTON_ACTIONS.get(intent)
            if action is not None:
                return await action.run(dispatcher, as_if_pressed(tracker, payload, intent, entities), domain)
        return await super().run(dispatcher, tracker, domain)

    def reply(self, assistant: Assistant, tracker: Tracker) -> Reply:
        said = replies.YES if intent_name(tracker) == "affirm" else replies.NO
        slack_user_id = staff_on_slack(tracker)
        if slack_user_id:  # staff: the surgery's menu; they can ask SEND questions in words too
            lead = "No problem." if said == replies.NO else "OK."
            desk = SurgeryDesk(assistant.settings, school_ref=assistant.school_ref)
            return desk.menu(
                slack_user_id,
                f"{lead} What would you like to do? You can ask me a SEND question in your own words.",
            )
        return assistant.nothing_to_answer(said)


def last_turn(tracker: Tracker) -> list[dict]:
    """The events of the bot's last turn: after the message before this one, up to this one.
    Only the message right after a question can answer it."""
    users = [i for i, event in enumerate(tracker.events) if event.get("event") == "user"]
    if not users:
        return []
    start = users[-2] + 1 if len(users) > 1 else 0
    return list(tracker.events[start : users[-1]])


def waiting_answers(tracker: Tracker) -> dict[str, str] | None:
    """The yes/no buttons of the bot's last turn, if that turn asked a question."""
    pending = [e for e in last_turn(tracker) if e.get("event") == "slot" and e.get("name") == PENDING_ANSWERS]
    value = pending[-1].get("value") if pending else None
    return value if isinstance(value, dict) else None


PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$", re.DOTALL)


def button_press(payload: str) -> tuple[str, list[dict[str, Any]]] | None:
    """`/intent{"key": "value"}` as (intent, entities), as Rasa's NLU reads a button payload."""
    match = PAYLOAD.match(payload.strip())
    if match is None:
        return None
    try:
        values = json.loads(match["entities"]) if match["entities"] else {}
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return match["intent"], [{"entity": k, "value": v} for k, v in values.items()]


def as_if_pressed(tracker: Tracker, payload: str, intent: str, entities: list[dict[str, Any]]) -> Tracker:
    """The tracker as the button's action would have seen it had the button been clicked: the
    same message (id, channel, metadata), with the button's payload, intent and entities."""
    latest = dict(tracker.latest_message or {})
    latest.update(text=payload, intent={"name": intent, "confidence": 1.0}, entities=entities)
    return Tracker(
        tracker.sender_id,
        tracker.slots,
        latest,
        tracker.events,
        tracker.is_paused(),
        tracker.followup_action,
        tracker.active_loop,
        tracker.latest_action_name,
    )


# The action each button intent runs (nlu/rules/rules.yml says the same; a test checks they agree).
BUTTON_ACTIONS: dict[str, Action] = {
    **{intent: ActionSurgery() for intent in SURGERY_INTENTS},
    **{intent: ActionBroadcast() for intent in BROADCAST_INTENTS},
    "safeguarding_answer": ActionSafeguardingAnswer(),
}
