"""Tables of the SEND knowledge base.

- `School`: the school profile (who the SENCo and DSL are, links, local authority).
- `Article` + `StatutoryFact`: plain-English explanations; every statutory figure
  keeps its source, whether it is a must or a should, and when it was checked.
- Local offer tables in Open Referral UK 3.0 shape (organization, service, location,
  address, contact, phone, cost_option, taxonomy_term, attribute), keyed by the
  feed's own ids so that a re-import updates rather than duplicates.

School-owned rows carry `school_ref`. Product content (the national SEND articles)
has `school_ref` NULL and is shared by every school of a deployment.

Why one module of about 660 lines: every table in one place, so the schema reads as one
and Alembic's autogenerate (`migrate.make_revision`) compares it whole.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

Base = declarative_base()


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite as on PostgreSQL.

    SQLite keeps no time zone, so values are converted to UTC before they are stored and
    marked as UTC when they are read back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: give times in UTC with a time zone")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class School(Base):
    __tablename__ = "schools"

    id = Column(Integer, primary_key=True)
    ref = Column(String(64), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    local_authority = Column(String(200), nullable=False, default="")
    is_example = Column(Boolean, nullable=False, default=False)
    profile = Column(JSON, nullable=False, default=dict)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    # Which local authority's local offer (the `dataset` of its services) this school's
    # parents are shown; NULL in a one-school deployment: every service loaded.
    local_offer_dataset = Column(String(120), nullable=True)
    # The school's term dates and closures (school_calendar.SchoolCalendar.from_dict).
    calendar = Column(JSON, nullable=True)


class SchoolRoute(Base):
    """How a message finds its school: a Slack workspace or channel mapped to one school.

    Parents reach a school by its ref (web page path, Telegram start link), so only
    Slack needs a table. A value maps to one school at most.
    """

    __tablename__ = "school_routes"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_school_routes_kind_value"),)

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    kind = Column(String(32), nullable=False)  # slack_team | slack_channel
    value = Column(String(64), nullable=False)


class Article(Base):
    __tablename__ = "articles"

    id = Column(Integer, primary_key=True)
    slug = Column(String(120), nullable=False, unique=True)
    school_ref = Column(String(64), nullable=True, index=True)
    origin = Column(String(16), nullable=False, default="product")  # product | school
    topic = Column(String(64), nullable=False, index=True)
    title = Column(String(200), nullable=False)
    summary = Column(Text, nullable=False)
    details = Column(JSON, nullable=False, default=list)
    keywords = Column(JSON, nullable=False, default=list)
    follow_ups = Column(JSON, nullable=False, default=list)
    source_title = Column(String(300), nullable=False)
    source_url = Column(String(500), nullable=True)
    checked_on = Column(Date, nullable=False)
    jurisdiction = Column(String(32), nullable=False, default="England")
    position = Column(Integer, nullable=False, default=0)
    # "article": a topic's overview; "answer": the direct answer to one specific question,
    # found by the ways people ask it (`questions`) without retraining the NLU model.
    kind = Column(String(16), nullable=False, default="article", server_default="article", index=True)
    questions = Column(JSON, nullable=False, default=list)
    # all | parents | staff
    audience = Column(String(16), nullable=False, default="all", server_default="all")
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    facts = relationship(
        "StatutoryFact",
        back_populates="article",
        cascade="all, delete-orphan",
        order_by="StatutoryFact.id",
    )


class StatutoryFact(Base):
    """One statutory figure as an article states it. The same key may appear in several
    articles; a content test checks they agree."""

    __tablename__ = "statutory_facts"
    __table_args__ = (UniqueConstraint("article_id", "key"),)

    id = Column(Integer, primary_key=True)
    article_id = Column(Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False)
    key = Column(String(120), nullable=False, index=True)
    statement = Column(Text, nullable=False)
    value = Column(String(64), nullable=False)
    unit = Column(String(32), nullable=False)
    day_kind = Column(String(16), nullable=True)  # calendar | working | None
    status = Column(String(32), nullable=False)  # must | should | should consider
    measured_from = Column(String(300), nullable=True)
    source = Column(String(300), nullable=False)
    source_url = Column(String(500), nullable=True)
    checked_on = Column(Date, nullable=False)
    jurisdiction = Column(String(32), nullable=False, default="England")

    article = relationship("Article", back_populates="facts")


# --- Local offer, Open Referral UK 3.0 ------------------------------------------------


class Organization(Base):
    __tablename__ = "oruk_organizations"

    id = Column(String(64), primary_key=True)
    name = Column(String(300), nullable=False)
    description = Column(Text, nullable=False, default="")
    email = Column(String(200), nullable=True)
    website = Column(String(500), nullable=True)
    dataset = Column(String(120), nullable=False, index=True)


class Service(Base):
    __tablename__ = "oruk_services"

    id = Column(String(64), primary_key=True)
    organization_id = Column(
        String(64), ForeignKey("oruk_organizations.id", ondelete="CASCADE"), nullable=False
    )
    name = Column(String(300), nullable=False)
    description = Column(Text, nullable=False, default="")
    url = Column(String(500), nullable=True)
    email = Column(String(200), nullable=True)
    status = Column(String(32), nullable=False, default="active")
    minimum_age = Column(Integer, nullable=True)
    maximum_age = Column(Integer, nullable=True)
    assured_date = Column(Date, nullable=True)
    last_modified = Column(DateTime(timezone=True), nullable=True)
    dataset = Column(String(120), nullable=False, index=True)

    organization = relationship("Organization")
    contacts = relationship("Contact", cascade="all, delete-orphan", order_by="Contact.id")
    cost_options = relationship("CostOption", cascade="all, delete-orphan", order_by="CostOption.id")
    service_at_locations = relationship(
        "ServiceAtLocation", cascade="all, delete-orphan", order_by="ServiceAtLocation.id"
    )
    attributes = relationship(
        "Attribute",
        primaryjoin="and_(Service.id == foreign(Attribute.link_id), Attribute.link_entity == 'service')",
        cascade="all, delete-orphan",
        order_by="Attribute.id",
    )


class Location(Base):
    __tablename__ = "oruk_locations"

    id = Column(String(64), primary_key=True)
    location_type = Column(String(16), nullable=False, default="physical")
    name = Column(String(300), nullable=True)
    description = Column(Text, nullable=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)

    addresses = relationship("Address", cascade="all, delete-orphan", order_by="Address.id")


class Address(Base):
    __tablename__ = "oruk_addresses"

    id = Column(String(64), primary_key=True)
    location_id = Column(String(64), ForeignKey("oruk_locations.id", ondelete="CASCADE"), nullable=False)
    address_1 = Column(String(300), nullable=False, default="")
    city = Column(String(120), nullable=False, default="")
    state_province = Column(String(120), nullable=False, default="")
    postal_code = Column(String(16), nullable=False, default="")
    country = Column(String(2), nullable=False, default="GB")
    address_type = Column(String(16), nullable=False, default="physical")


class ServiceAtLocation(Base):
    __tablename__ = "oruk_service_at_locations"

    id = Column(String(64), primary_key=True)
    service_id = Column(String(64), ForeignKey("oruk_services.id", ondelete="CASCADE"), nullable=False)
    location_id = Column(String(64), ForeignKey("oruk_locations.id"), nullable=False)

    location = relationship("Location")


class Contact(Base):
    __tablename__ = "oruk_contacts"

    id = Column(String(64), primary_key=True)
    service_id = Column(String(64), ForeignKey("oruk_services.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(200), nullable=True)
    title = Column(String(200), nullable=True)
    email = Column(String(200), nullable=True)

    phones = relationship("Phone", cascade="all, delete-orphan", order_by="Phone.id")


class Phone(Base):
    __tablename__ = "oruk_phones"

    id = Column(String(64), primary_key=True)
    contact_id = Column(String(64), ForeignKey("oruk_contacts.id", ondelete="CASCADE"), nullable=False)
    number = Column(String(64), nullable=False)
    description = Column(String(300), nullable=True)


class CostOption(Base):
    __tablename__ = "oruk_cost_options"

    id = Column(String(64), primary_key=True)
    service_id = Column(String(64), ForeignKey("oruk_services.id", ondelete="CASCADE"), nullable=False)
    option = Column(String(300), nullable=True)
    amount = Column(Float, nullable=True)
    amount_description = Column(String(300), nullable=True)
    currency = Column(String(3), nullable=True)


class TaxonomyTerm(Base):
    __tablename__ = "oruk_taxonomy_terms"

    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    description = Column(Text, nullable=False, default="")
    code = Column(String(120), nullable=True, index=True)
    taxonomy = Column(String(120), nullable=True)
    term_uri = Column(String(500), nullable=True)
    parent_id = Column(String(64), nullable=True)


class Attribute(Base):
    __tablename__ = "oruk_attributes"
    __table_args__ = (UniqueConstraint("link_id", "link_type", "taxonomy_term_id"),)

    id = Column(String(64), primary_key=True)
    link_id = Column(String(64), nullable=False, index=True)
    link_entity = Column(String(32), nullable=False, default="service")
    link_type = Column(String(64), nullable=True)
    taxonomy_term_id = Column(String(64), ForeignKey("oruk_taxonomy_terms.id"), nullable=False)
    value = Column(String(300), nullable=True)

    taxonomy_term = relationship("TaxonomyTerm")


__all__ = [
    "Address",
    "Article",
    "Attribute",
    "Base",
    "Booking",
    "BookingAudit",
    "Contact",
    "CostOption",
    "ErasureRequest",
    "Location",
    "Organization",
    "Phone",
    "SafeguardingAccess",
    "SafeguardingRecord",
    "School",
    "Service",
    "ServiceAtLocation",
    "StaffMember",
    "StatutoryFact",
    "SurgerySlot",
    "TaxonomyTerm",
]


# --- Safeguarding ----------------------------------------------------------------------


class SafeguardingRecord(Base):
    """A message that suggested a child may be at risk, kept verbatim for the DSL.

    Outside chat-log retention: never purged with conversations. Read only through the
    DSL commands, and every read is written to `safeguarding_access`.
    """

    __tablename__ = "safeguarding_records"
    __table_args__ = (UniqueConstraint("sender_ref", "source_message_id", name="uq_safeguarding_source"),)

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    channel = Column(String(32), nullable=False)
    sender_ref = Column(String(64), nullable=False, index=True)
    message = Column(Text, nullable=False)
    detected_by = Column(String(200), nullable=False)  # pattern names and/or "nlu"
    kinds = Column(String(300), nullable=False, default="")
    child_voice = Column(Boolean, nullable=False, default=False)
    alerted_at = Column(DateTime(timezone=True), nullable=True)
    deputy_alerted_at = Column(DateTime(timezone=True), nullable=True)
    acknowledged_at = Column(DateTime(timezone=True), nullable=True)
    acknowledged_by = Column(String(200), nullable=True)
    # When the DSL and deputy were told by Slack DM (NULL: not yet; retried until done).
    slack_alerted_at = Column(DateTime(timezone=True), nullable=True)
    # A concern only the NLU model saw: the sender is asked "is a child at risk?" first.
    # The DSL is alerted when they say yes, or at `confirm_by` if they don't answer; a "no"
    # keeps the record un-alerted, and it is deleted with the chat logs.
    confirm_by = Column(DateTime(timezone=True), nullable=True)
    sender_answer = Column(String(8), nullable=True)  # yes | no
    # The client's message_id: a disclosure delivered twice (a retry after a dead server) is
    # recorded, and alerted, once.
    source_message_id = Column(String(200), nullable=True)


class SafeguardingAccess(Base):
    """Who read or acknowledged which safeguarding record, and when."""

    __tablename__ = "safeguarding_access"

    id = Column(Integer, primary_key=True)
    record_id = Column(Integer, ForeignKey("safeguarding_records.id"), nullable=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    who = Column(String(200), nullable=False)
    action = Column(String(32), nullable=False)  # list | show | acknowledge


# --- Privacy ---------------------------------------------------------------------------


class ErasureRequest(Base):
    """A family asked the bot to delete their conversation.

    The sender id is kept only until the deletion has run (a minute at most), because
    the conversation can only be deleted after the bot's reply to the request is saved.
    """

    __tablename__ = "erasure_requests"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=True)
    sender_ref = Column(String(64), nullable=False)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at = Column(DateTime(timezone=True), nullable=True)
    events_deleted = Column(Integer, nullable=True)


# --- Staff and SENCo surgery booking ---------------------------------------------------


class StaffMember(Base):
    """A member of staff from the school's roster file, keyed by their Slack user id."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("school_ref", "slack_user_id"),)

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    slack_user_id = Column(String(32), nullable=False)
    name = Column(String(200), nullable=False)
    role = Column(String(32), nullable=False)  # see knowledge.schools.staff.ROLES
    email = Column(String(200), nullable=True)
    active = Column(Boolean, nullable=False, default=True)


class SurgerySlot(Base):
    """One bookable SENCo surgery slot. Times are stored in UTC.

    `booked` counts active bookings; it only changes inside the conditional UPDATE in
    `knowledge.surgery.booking`, which is what makes a claim atomic on SQLite and PostgreSQL.
    """

    __tablename__ = "surgery_slots"
    __table_args__ = (UniqueConstraint("school_ref", "starts_at"),)

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    starts_at = Column(UTCDateTime(), nullable=False, index=True)
    ends_at = Column(UTCDateTime(), nullable=False)
    capacity = Column(Integer, nullable=False, default=1)
    booked = Column(Integer, nullable=False, default=0)
    status = Column(String(16), nullable=False, default="open")  # open | blocked
    origin = Column(String(16), nullable=False, default="extra")  # pattern | extra
    pattern_id = Column(Integer, ForeignKey("surgery_patterns.id"), nullable=True, index=True)


class SurgeryPattern(Base):
    """A weekly surgery the SENCo opened, e.g. Tuesdays 15:15 to 16:15 in 15-minute slots.

    Times are UK wall-clock times ("15:15"), because a surgery is at a quarter past three
    in winter and in summer alike; each generated slot is converted to UTC for its own date.
    """

    __tablename__ = "surgery_patterns"

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    weekday = Column(Integer, nullable=False)  # 0 = Monday
    start_time = Column(String(5), nullable=False)  # "15:15", UK time
    end_time = Column(String(5), nullable=False)
    slot_minutes = Column(Integer, nullable=False)
    capacity = Column(Integer, nullable=False, default=1)
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date, nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_by = Column(Integer, ForeignKey("staff.id"), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class SurgeryBlockout(Base):
    """A day (or part of one) when the SENCo is not available: no slot is offered in it."""

    __tablename__ = "surgery_blockouts"

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    day = Column(Date, nullable=False, index=True)
    start_time = Column(String(5), nullable=True)  # None: the whole day
    end_time = Column(String(5), nullable=True)
    reason = Column(String(200), nullable=True)
    created_by = Column(Integer, ForeignKey("staff.id"), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class Booking(Base):
    """A place in a surgery slot. `uid` and `sequence` are the calendar file's identity."""

    __tablename__ = "bookings"

    id = Column(Integer, primary_key=True)
    slot_id = Column(Integer, ForeignKey("surgery_slots.id"), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False, index=True)
    topic = Column(String(32), nullable=False)
    note = Column(String(200), nullable=True)
    status = Column(String(16), nullable=False, default="active")  # active | cancelled
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    cancelled_at = Column(UTCDateTime(), nullable=True)
    uid = Column(String(100), nullable=True, unique=True)
    sequence = Column(Integer, nullable=False, default=0)

    slot = relationship("SurgerySlot")
    staff = relationship("StaffMember")


class BookingAudit(Base):
    """Who did what to a booking, including SENCo overrides of the booking rules."""

    __tablename__ = "booking_audit"

    id = Column(Integer, primary_key=True)
    booking_id = Column(Integer, ForeignKey("bookings.id"), nullable=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    action = Column(String(32), nullable=False)  # book | move | cancel | override | open | block
    detail = Column(String(300), nullable=True)


class BookingReminder(Base):
    """A reminder due before a booking (24 hours and 1 hour), kept so it survives a restart.

    A sender claims a row by moving it from `pending` to `sending` in one conditional
    UPDATE, so two schedulers (or one restarted mid-run) never both send it. A move bumps
    the booking's `sequence`: reminders of the old time are superseded, new ones are made.
    """

    __tablename__ = "booking_reminders"
    __table_args__ = (UniqueConstraint("booking_id", "kind", "sequence"),)

    id = Column(Integer, primary_key=True)
    booking_id = Column(Integer, ForeignKey("bookings.id"), nullable=False, index=True)
    kind = Column(String(8), nullable=False)  # 24h | 1h
    sequence = Column(Integer, nullable=False, default=0)
    due_at = Column(UTCDateTime(), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="pending")
    # pending | sending | sent | failed | superseded | cancelled | skipped
    claimed_at = Column(UTCDateTime(), nullable=True)
    sent_at = Column(UTCDateTime(), nullable=True)
    detail = Column(String(300), nullable=True)

    booking = relationship("Booking")


class DigestRun(Base):
    """One morning digest for one slot manager on one day: sent at most once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("staff_id", "day"),)

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    day = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, default="sending")  # sending | sent | failed
    at = Column(UTCDateTime(), nullable=False, default=utcnow)


# --- Parents and staff who receive broadcasts; the SENCo's broadcasts; the outbox ----------


class Subscriber(Base):
    """Someone the bot can message on one channel, and whether they want the SENCo's reminders.

    Parents opt in on Telegram (or a parent channel) and may stop at any time; staff are
    reached on Slack through the roster. `opted_in` is read at send time, so an opt-out
    stops messages already queued.
    """

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("school_ref", "channel", "address"),)

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    channel = Column(String(16), nullable=False)  # telegram | slack
    address = Column(String(64), nullable=False)  # Telegram chat id, Slack user id
    kind = Column(String(16), nullable=False, default="parent")  # parent | staff
    opted_in = Column(Boolean, nullable=False, default=False)
    year_groups = Column(JSON, nullable=False, default=list)  # e.g. ["Reception", "Year 3"]
    interests = Column(JSON, nullable=False, default=list)  # e.g. ["workshops", "coffee mornings"]
    privacy_notice_at = Column(UTCDateTime(), nullable=True)
    opted_in_at = Column(UTCDateTime(), nullable=True)
    opted_out_at = Column(UTCDateTime(), nullable=True)
    unreachable_at = Column(UTCDateTime(), nullable=True)  # blocked the bot / chat gone
    # When this person last came in through this school's link (a trust's Telegram chat is
    # answered for the school of its latest link).
    linked_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class Broadcast(Base):
    """A message from the SENCo (or an admin) to an audience, now or before an event."""

    __tablename__ = "broadcasts"

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=False, index=True)
    text = Column(Text, nullable=False)
    event_at = Column(UTCDateTime(), nullable=True)
    offsets_minutes = Column(JSON, nullable=False, default=list)  # e.g. [1440, 60]; [] = send now
    audience = Column(JSON, nullable=False, default=dict)
    status = Column(String(16), nullable=False, default="draft")  # draft | scheduled | done | cancelled
    created_by = Column(Integer, ForeignKey("staff.id"), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    summary_sent_at = Column(UTCDateTime(), nullable=True)


class BroadcastSend(Base):
    """One sending of a broadcast: the announcement, or one reminder before the event."""

    __tablename__ = "broadcast_sends"
    __table_args__ = (UniqueConstraint("broadcast_id", "offset_minutes"),)

    id = Column(Integer, primary_key=True)
    broadcast_id = Column(Integer, ForeignKey("broadcasts.id"), nullable=False, index=True)
    offset_minutes = Column(Integer, nullable=False)  # before the event; -1 = as soon as confirmed
    due_at = Column(UTCDateTime(), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="pending")  # pending | queued | cancelled
    queued_at = Column(UTCDateTime(), nullable=True)


class OutboxMessage(Base):
    """One message to one person: the durable unit of delivery.

    Rows are made once per send and recipient (the unique constraint makes a resumed or
    repeated expansion harmless); a sender claims a row (queued -> sending) before the
    network call and records the outcome after it.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("send_id", "channel", "address"),)

    id = Column(Integer, primary_key=True)
    send_id = Column(Integer, ForeignKey("broadcast_sends.id"), nullable=False, index=True)
    broadcast_id = Column(Integer, ForeignKey("broadcasts.id"), nullable=False, index=True)
    school_ref = Column(String(64), nullable=False)
    channel = Column(String(16), nullable=False)
    address = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    not_before = Column(UTCDateTime(), nullable=False, index=True)  # quiet hours move this
    status = Column(String(24), nullable=False, default="queued", index=True)
    # queued | sending | sent | failed | skipped_opted_out | unknown
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(300), nullable=True)
    claimed_at = Column(UTCDateTime(), nullable=True)
    sent_at = Column(UTCDateTime(), nullable=True)


class BroadcastAudit(Base):
    """Who created, confirmed, edited or cancelled which broadcast, and when."""

    __tablename__ = "broadcast_audit"

    id = Column(Integer, primary_key=True)
    broadcast_id = Column(Integer, ForeignKey("broadcasts.id"), nullable=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    action = Column(String(32), nullable=False)  # create | confirm | edit | cancel
    detail = Column(String(500), nullable=True)


class ActionResult(Base):
    """What an action with side effects answered to one delivered message, kept briefly.

    A message can reach a second Rasa server after the first one ran its action but died
    before saving the turn; the action then finds its earlier result here and answers the
    same again instead of booking, broadcasting or recording twice (see
    `knowledge.shared.action_ledger`). Keyed by the sender too, so a client's `message_id` can
    never fetch somebody else's reply. Purged within a day.
    """

    __tablename__ = "action_results"
    __table_args__ = (
        UniqueConstraint("sender_ref", "message_id", "action", name="uq_action_results_delivery"),
    )

    id = Column(Integer, primary_key=True)
    sender_ref = Column(String(64), nullable=False)
    message_id = Column(String(200), nullable=False)
    action = Column(String(64), nullable=False)
    status = Column(String(8), nullable=False)  # running | done
    lease_until = Column(UTCDateTime(), nullable=False)  # a runner that died frees it then
    reply = Column(JSON, nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)


class UnansweredQuestion(Base):
    """A SEND question the bot had no reliable answer to, kept for the school to answer.

    Never the sender: only the school, the words (with e-mail addresses and phone numbers
    taken out), the topic the model guessed and when. Purged with the chat logs
    (CHAT_LOG_RETENTION_DAYS), so it is kept no longer than the conversation it came from.
    """

    __tablename__ = "unanswered_questions"

    id = Column(Integer, primary_key=True)
    school_ref = Column(String(64), nullable=True, index=True)
    text = Column(Text, nullable=False)
    topic_guess = Column(String(64), nullable=True)
    channel = Column(String(32), nullable=False, default="unknown")
    asked_at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
