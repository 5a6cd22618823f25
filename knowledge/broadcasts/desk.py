"""The SENCo's broadcasts in Slack: what she says, turned into previews, confirmations and lists.

Like `knowledge.surgery.desk`, this is the conversation without Rasa. Nothing is sent from
a request: the SENCo always sees the preview (exact text, recipients per channel, each
send's time, warnings) and confirms with a button. Permissions are checked in
`knowledge.broadcasts.sending` (SENCo or admin only), never only here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

from sqlalchemy import select

from knowledge.broadcasts import outbox
from knowledge.broadcasts import sending as broadcasts
from knowledge.broadcasts.audiences import describe
from knowledge.broadcasts.requests import parse_broadcast_request
from knowledge.schools.profile import read_profile
from knowledge.schools.staff import NotAllowed, UnknownStaff, find_staff
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Broadcast, utcnow
from knowledge.shared.replies import NO, YES, Button, Reply
from knowledge.shared.settings import Settings
from knowledge.text.uk_time import format_uk

EDIT_EXAMPLE = "“edit broadcast 12: The training is now in the hall at 4pm.”"
_NUMBER = re.compile(r"(?:#|\bno\.?\s*|\b(?:reminder|broadcast|message|number)\s+)(\d{1,6})\b", re.IGNORECASE)
_EDIT = re.compile(r"^(?P<head>[^:]*?)(?P<id>\d{1,6})\b[^:]*:\s*(?P<text>.+)$", re.DOTALL)
RECENT = 3


class BroadcastDesk:
    def __init__(
        self, settings: Settings, *, school_ref: str | None = None, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.settings, self.school_ref, self.clock = settings, school_ref, clock
        self.tz = settings.timezone

    def handle(self, intent: str, text: str, entities: dict[str, str], slack_user_id: str | None) -> Reply:
        if not slack_user_id:
            return Reply("Broadcasts are sent by the SENCo from the school's Slack.")
        with unit_of_work(self.settings.database_url) as session:
            profile = read_profile(session, self.school_ref)
            try:
                member = find_staff(session, profile.ref, slack_user_id)
            except UnknownStaff as refusal:
                return Reply(str(refusal))
            handler = HANDLERS.get(intent)
            if handler is None:
                return Reply("Sorry, I didn't follow that. Try “send a broadcast” or “list broadcasts”.")
            try:
                return handler(self, session, member, text or "", entities)
            except NotAllowed:
                return Reply("Only the SENCo or an admin can send, change or cancel broadcasts.")
            except (broadcasts.BroadcastRefused, broadcasts.BroadcastNotFound) as problem:
                return Reply(str(problem))

    # --- sending -------------------------------------------------------------------------

    def _send_broadcast(self, session, member, text, entities) -> Reply:
        now = self.clock()
        if entities.get("confirm"):
            done = broadcasts.confirm(session, member, int(entities["confirm"]), now, tz=self.tz)
            sends = "; ".join(f"{s.label} ({format_uk(s.due_at, self.tz)})" for s in done.sends)
            notes = " ".join(done.notes)
            return Reply(
                f"Confirmed broadcast #{done.broadcast.id}. Sends: {sends or 'none'}. {notes}".strip()
                + " I'll message you how delivery went when it's done."
            )
        request = parse_broadcast_request(text, now=now, tz=self.tz)
        if isinstance(request, str):
            return Reply(request)
        draft = broadcasts.create_draft(session, member, request, now)
        return self._preview_reply(session, draft, now)

    def _preview_reply(self, session, draft: Broadcast, now: dt.datetime) -> Reply:
        shown = broadcasts.preview(
            session, draft, now, hours=outbox.SendHours.from_settings(self.settings), tz=self.tz
        )
        confirm = json.dumps({"confirm": str(draft.id)})
        drop = json.dumps({"broadcast_id": str(draft.id), "confirm": "yes"})
        return Reply(
            f"Broadcast #{draft.id}, not sent yet. Please check it:\n{shown.as_text(self.tz)}\n"
            f"To change the words: {EDIT_EXAMPLE.replace('12', str(draft.id))}",
            (
                Button("Send it", "/send_broadcast" + confirm, answers=YES),
                Button("Don't send", "/cancel_broadcast" + drop, answers=NO),
            ),
        )

    # --- listing, cancelling, editing ------------------------------------------------------

    def _list_broadcasts(self, session, member, text, entities) -> Reply:
        now = self.clock()
        scheduled = broadcasts.list_scheduled(session, member, now)
        lines, buttons = [], []
        for item in scheduled:
            upcoming = (
                f"next: {item.next_send.label}, {format_uk(item.next_send.due_at, self.tz)}"
                if item.next_send
                else "nothing more to send"
            )
            lines.append(
                f"• #{item.id} ({item.status}) to {item.audience}: “{_short(item.text)}” ({upcoming})"
            )
            buttons.append(
                Button(f"Cancel #{item.id}", "/cancel_broadcast" + json.dumps({"broadcast_id": str(item.id)}))
            )
        recent = session.execute(
            select(Broadcast)
            .where(Broadcast.school_ref == member.school_ref, Broadcast.status.notin_(("draft",)))
            .order_by(Broadcast.id.desc())
            .limit(RECENT)
        ).scalars()
        delivered = [
            f"• #{b.id} “{_short(b.text)}”: {broadcasts.summary(session, b.id, now=now, tz=self.tz)}"
            for b in recent
        ]
        if not lines and not delivered:
            return Reply(
                "There are no broadcasts yet. Try “remind all staff about the autism awareness training "
                "on Thursday 3:30pm in the library, the day before and an hour before”."
            )
        parts = []
        if lines:
            parts.append("Scheduled (UK time):\n" + "\n".join(lines))
        if delivered:
            parts.append("Latest delivery:\n" + "\n".join(delivered))
        return Reply("\n\n".join(parts), tuple(buttons))

    def _pick(self, session, member, text, entities) -> int | Reply:
        if entities.get("broadcast_id"):
            return int(entities["broadcast_id"])
        number = _NUMBER.search(text)
        if number:
            return int(number.group(1))
        scheduled = broadcasts.list_scheduled(session, member, self.clock())
        if len(scheduled) == 1:
            return scheduled[0].id
        if not scheduled:
            return Reply("There are no scheduled broadcasts.")
        return Reply(
            "Which one?",
            tuple(
                Button(
                    f"#{s.id}: {_short(s.text, 40)}",
                    "/cancel_broadcast" + json.dumps({"broadcast_id": str(s.id)}),
                )
                for s in scheduled
            ),
        )

    def _cancel_broadcast(self, session, member, text, entities) -> Reply:
        picked = self._pick(session, member, text, entities)
        if isinstance(picked, Reply):
            return picked
        if entities.get("confirm") != "yes":
            broadcast = session.get(Broadcast, picked)
            if broadcast is None or broadcast.school_ref != member.school_ref:
                return Reply(f"There is no broadcast #{picked}.")
            payload = json.dumps({"broadcast_id": str(picked), "confirm": "yes"})
            return Reply(
                f"Cancel broadcast #{picked} to {describe(broadcast.audience)}: “{_short(broadcast.text)}”?",
                (
                    Button("Yes, cancel it", "/cancel_broadcast" + payload, answers=YES),
                    Button("No, keep it", "/list_broadcasts", answers=NO),
                ),
            )
        done = broadcasts.cancel(session, member, picked, self.clock())
        return Reply(
            f"Cancelled broadcast #{picked}: {done.sends_cancelled} send(s) and "
            f"{done.messages_cancelled} waiting message(s) won't go out."
        )

    def _edit_broadcast(self, session, member, text, entities) -> Reply:
        edit = _EDIT.match(text.strip())
        if edit is None:
            return Reply(f"Tell me which broadcast and the new words, for example {EDIT_EXAMPLE}")
        now = self.clock()
        changed = broadcasts.edit_text(session, member, int(edit["id"]), edit["text"].strip(), now)
        return self._preview_reply(session, changed, now)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Which method answers which broadcast intent (BROADCAST_INTENTS in actions/actions.py).
HANDLERS: dict[str, Callable[..., Reply]] = {
    "send_broadcast": BroadcastDesk._send_broadcast,
    "list_broadcasts": BroadcastDesk._list_broadcasts,
    "cancel_broadcast": BroadcastDesk._cancel_broadcast,
    "edit_broadcast": BroadcastDesk._edit_broadcast,
}
