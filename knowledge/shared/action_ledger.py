"""Side effects once per delivered message, even when a turn is run twice.

`connectors.rasa.exactly_once` stops Rasa from processing a repeated `message_id` whose turn
was saved. Two cases get past it: the Rasa server died after its action server booked,
broadcast or recorded but before the turn was saved (the repeat on the other server runs
the turn again), and a first delivery that held the conversation's lock longer than its
lifetime (the repeat runs alongside it). For the actions that change something, this
ledger closes both: the first run claims (sender, message_id, action) and stores its
reply; a second run waits for that reply and sends it again instead of doing the work.

A run that dies holding its claim frees it when the lease runs out; the next delivery then
does the work (the services' own checks, such as "you already have this slot", still
apply). A run that raised releases its claim, so a retry can succeed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.models import ActionResult, utcnow
from knowledge.shared.replies import Button, Reply

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=30)
POLL_S = 0.2
KEEP = dt.timedelta(days=1)


def reply_to_json(reply: Reply) -> dict:
    return {
        "text": reply.text,
        "buttons": [[b.title, b.payload, b.answers] for b in reply.buttons],
        "custom": list(reply.custom),
    }


def reply_from_json(data: dict) -> Reply:
    return Reply(
        text=str(data.get("text") or ""),
        buttons=tuple(_button(item) for item in data.get("buttons") or ()),
        custom=tuple(data.get("custom") or ()),
    )


def _button(item: list) -> Button:
    """[title, payload, answers]; rows kept before `answers` existed have two items."""
    title, payload, *rest = item
    return Button(str(title), str(payload), rest[0] if rest else None)


def run_once(
    database_url: str,
    *,
    sender_ref: str,
    message_id: str | None,
    action: str,
    work: Callable[[], Reply],
    lease: dt.timedelta = LEASE,
    poll_s: float = POLL_S,
) -> Reply:
    """`work()`'s reply; for a message whose action already ran, the reply it gave then."""
    if not message_id:
        return work()
    key = {"sender_ref": sender_ref[:64], "message_id": message_id[:200], "action": action[:64]}
    while True:
        claimed, stored = _claim(database_url, key, lease)
        if stored is not None:
            log.info("action %s for message %s ran before: its reply is sent again", action, message_id)
            return reply_from_json(stored)
        if claimed:
            break
        time.sleep(poll_s)  # another delivery is running it now: wait for its reply
    try:
        reply = work()
    except BaseException:
        _release(database_url, key)
        raise
    _finish(database_url, key, reply)
    return reply


def _claim(database_url: str, key: dict, lease: dt.timedelta) -> tuple[bool, dict | None]:
    """(claimed, stored reply): claim a new key, or take over one whose lease ran out."""
    now = utcnow()
    try:
        with unit_of_work(database_url) as session:
            session.add(ActionResult(**key, status="running", lease_until=now + lease, created_at=now))
        return True, None
    except IntegrityError:
        pass
    with unit_of_work(database_url) as session:
        row = session.execute(select(ActionResult).filter_by(**key)).scalar_one_or_none()
        if row is None:  # released between our insert and this read: try again
            return False, None
        if row.status == "done":
            return False, dict(row.reply or {})
        taken = session.execute(
            update(ActionResult)
            .filter_by(**key, status="running")
            .where(ActionResult.lease_until < now)
            .values(lease_until=now + lease)
        ).rowcount
        if taken:
            log.warning(
                "action %s for message %s: an earlier run died; running it again",
                key["action"],
                key["message_id"],
            )
        return bool(taken), None


def _finish(database_url: str, key: dict, reply: Reply) -> None:
    with unit_of_work(database_url) as session:
        session.execute(
            update(ActionResult).filter_by(**key).values(status="done", reply=reply_to_json(reply))
        )


def _release(database_url: str, key: dict) -> None:
    try:
        with unit_of_work(database_url) as session:
            session.execute(delete(ActionResult).filter_by(**key, status="running"))
    except Exception:  # the lease frees it anyway
        log.exception("could not release the claim of action %s", key["action"])


def purge(database_url: str, now: dt.datetime, keep: dt.timedelta = KEEP) -> int:
    """Forget results older than `keep`: a repeat comes within minutes, and replies are chat logs."""
    with unit_of_work(database_url) as session:
        return session.execute(delete(ActionResult).where(ActionResult.created_at < now - keep)).rowcount


# --- deliveries a connector has finished ----------------------------------------------------
TELEGRAM_UPDATE = "telegram_update"


class HandledUpdates:
    """The updates the connector has finished, in the database, so that one delivered again
    (even after a restart) does nothing twice: no second answer, opt-in message or menu.

    Checked and recorded while the chat's lock is held. One chat's updates run one at a
    time in the one connector process (Telegram refuses a second getUpdates poller and
    posts webhook updates to one URL), so no two deliveries of an update run at once.
    Recorded only after the work is done: a delivery that died half way is done again
    when Telegram repeats it (its Rasa turn and any safeguarding record still happen once,
    by the same key). Rows are `ActionResult`s (action "telegram_update", no text): purged
    within a day by the chat-log purge (Telegram keeps an update for 24 hours at most),
    and erased with the parent's other data. Blocking: call through a thread.
    """

    def __init__(self, database_url: str, action: str = TELEGRAM_UPDATE) -> None:
        self.database_url, self.action = database_url, action

    def _row(self, sender_id: str, key: str) -> dict:
        return {"sender_ref": sender_ref(sender_id), "message_id": key[:200], "action": self.action}

    def handled(self, sender_id: str, key: str) -> bool:
        with unit_of_work(self.database_url) as session:
            found = session.execute(select(ActionResult.id).filter_by(**self._row(sender_id, key)).limit(1))
            return found.first() is not None

    def finished(self, sender_id: str, key: str) -> None:
        now = utcnow()
        try:
            with unit_of_work(self.database_url) as session:
                session.add(
                    ActionResult(**self._row(sender_id, key), status="done", lease_until=now, created_at=now)
                )
        except IntegrityError:  # recorded already
            pass
