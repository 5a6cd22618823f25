"""The safeguarding replies: calm and short, the help that fits who is at risk, most urgent
first, and who will be told. No questions, no secrecy.

Every number comes from `knowledge/content/helplines.yml` (`helplines.py`); the school's own
number and its DSL from the school profile. Pure functions, so every reply is unit-tested as text.
"""

from __future__ import annotations

from typing import Sequence

from knowledge.safeguarding.helplines import helpline
from knowledge.schools.profile import SchoolProfile, short_school_name
from knowledge.shared.replies import NO, YES, Button, Reply

NSPCC_HELPLINE = helpline("nspcc").number
CHILDLINE = helpline("childline").number
CHILD_HARM = "child_harm"
ALL_GROUPS = ("danger_now", "self_harm", "domestic_abuse", CHILD_HARM)


def _groups(groups: Sequence[str]) -> tuple[str, ...]:
    """Most urgent first; none known (a concern only the model saw) is today's reply for a child."""
    ordered = tuple(g for g in ALL_GROUPS if g in groups)
    return ordered or (CHILD_HARM,)


def _first_line(groups: tuple[str, ...]) -> str:
    """Thanks, and 999 in the words that fit the most urgent group."""
    first = groups[0]
    if first == "danger_now":
        urgent = "Call 999 now if someone is in danger or a child is missing."
    elif first == "self_harm":
        urgent = (
            "I'm sorry you're going through this. If your life is at risk right now, call 999 or go to A&E."
        )
    elif first == "domestic_abuse":
        urgent = "If you or your children are in danger now, call 999."
    else:
        urgent = "If anyone is in danger right now, call 999."
    return f"Thank you for telling us. {urgent}"


def _danger_now(school_line: str) -> str:
    return f"If a child is missing, you don't have to wait to report it. {school_line}"


def _school_line(profile: SchoolProfile | None) -> str:
    """After 999: the school's own number, from its profile."""
    if profile is None:
        return "Then call your child's school."
    name = short_school_name(profile.name)
    if profile.phone:
        return f"Then call {name} on {profile.phone}."
    if profile.dsl.phone:
        return f"Then call {name}'s safeguarding lead on {profile.dsl.phone}."
    return f"Then call {name}."


def _self_harm(writer: str) -> str:
    samaritans, nhs, shout = helpline("samaritans"), helpline("nhs_111_mental_health"), helpline("shout")
    lines = [
        f"• {samaritans.name}: call {samaritans.number}, free, {samaritans.hours}.",
        f"• {nhs.name}: call {nhs.number} and choose the mental health option, for urgent help (England).",
        f"• {shout.name}: text SHOUT to {shout.number}, free, {shout.hours}.",
    ]
    if writer != "adult":
        childline = helpline("childline")
        lines.append(
            f"• {childline.name}, if you're under 19: call {childline.number}, free, {childline.hours}."
        )
    return "You don't have to cope with this alone. Someone to talk to:\n" + "\n".join(lines)


def _domestic_abuse(writer: str) -> str:
    line = helpline("domestic_abuse")
    lines = [
        "• If it isn't safe to talk on a 999 call from a mobile, cough or tap, then press 55 when asked.",
        f"• {line.name}: {line.number}, free, {line.hours}.",
    ]
    if writer == "child":
        childline = helpline("childline")
        lines.append(f"• {childline.name}: {childline.number}, free, {childline.hours}, to talk about home.")
    return "Nobody should be hurt, threatened or controlled at home.\n" + "\n".join(lines)


def _nspcc_line() -> str:
    nspcc = helpline("nspcc")
    return f"• {nspcc.name}: {nspcc.number} ({nspcc.hours})"


def _childline_line() -> str:
    childline = helpline("childline")
    return f"• {childline.name}, free for children and young people, {childline.hours}: {childline.number}"


def _why_the_dsl(groups: tuple[str, ...]) -> str:
    if CHILD_HARM in groups or "danger_now" in groups:
        return "who will make sure someone helps"
    if "domestic_abuse" in groups:
        return "because abuse at home harms the children who live with it too"
    return "so that the school can help you and your family"


def _writer(writer: str | None, child_voice: bool) -> str:
    """Who wrote, as the screen found it; else a child when the words sound like one."""
    return writer if writer is not None else ("child" if child_voice else "")


def _help_for(groups: Sequence[str], writer: str, school_line: str) -> list[str]:
    """The opening line, then the help for each group at risk, most urgent first."""
    parts = [_first_line(groups)]
    if "danger_now" in groups:
        parts.append(_danger_now(school_line))
    if "self_harm" in groups:
        parts.append(_self_harm(writer))
    if "domestic_abuse" in groups:
        parts.append(_domestic_abuse(writer))
    return parts


def safeguarding_reply(
    profile: SchoolProfile, *, child_voice: bool, groups: Sequence[str] = (), writer: str | None = None
) -> Reply:
    """Calm and short: thanks, 999, the help that fits who is at risk, who will be told.
    No questions, no secrecy."""
    groups = _groups(groups)
    dsl = profile.dsl
    parts = _help_for(groups, _writer(writer, child_voice), _school_line(profile))
    parts.append(
        f"I can't keep this private. Your message goes to {profile.name}'s designated "
        f"safeguarding lead{', ' + dsl.name if dsl.name else ''}, {_why_the_dsl(groups)}."
        + (f" You can also contact them: {dsl.contact_line()}." if dsl.contact_line() else "")
    )
    if CHILD_HARM in groups:
        others = []
        services = profile.children_services
        if services.phone:
            name = services.name or "Children's services"
            line = f"• {name}: {services.phone}"
            if services.out_of_hours_phone:
                line += f" (evenings and weekends: {services.out_of_hours_phone})"
            others.append(line)
        others.append(_nspcc_line())
        if child_voice:
            others.append(_childline_line())
        parts.append("You can also call:\n" + "\n".join(others))
    return Reply("\n\n".join(parts))


SAFEGUARDING_CHECK = "Before I answer, can I check one thing"


def safeguarding_check_reply(record_id: int, *, staff: bool = False) -> Reply:
    """Only the NLU model read the message as a possible concern: ask, calmly, before alarming anyone.

    Unanswered, it is treated as a concern: the DSL is alerted when the check time runs out.
    """
    who = "a child or young person" if staff else "a child"
    text = (
        f"{SAFEGUARDING_CHECK}: are you worried that {who} is being harmed or is not safe, "
        "or about your own safety? "
        "If anyone is in danger right now, call 999."
    )

    def payload(answer: str) -> str:
        return f'/safeguarding_answer{{"answer": "{answer}", "record_id": "{record_id}"}}'

    return Reply(
        text,
        (
            Button("Yes, I'm worried about someone's safety", payload("yes"), answers=YES),
            Button("No, it's an everyday question", payload("no"), answers=NO),
        ),
    )


def safeguarding_reply_without_school(
    *, child_voice: bool, groups: Sequence[str] = (), writer: str | None = None
) -> Reply:
    """The safeguarding reply when a trust's bot does not know the school: no other school's names."""
    groups = _groups(groups)
    parts = _help_for(groups, _writer(writer, child_voice), _school_line(None))
    parts.append(
        "I can't keep this private: your message is kept for the safeguarding team. I don't know "
        "which school you are from, so please also tell the school's designated safeguarding lead "
        "today, or use your school's own chat link."
    )
    if CHILD_HARM in groups:
        others = [_nspcc_line()]
        if child_voice:
            others.append(_childline_line())
        others.append("• Your local council's children's services (on the council's website)")
        parts.append("You can also call:\n" + "\n".join(others))
    return Reply("\n\n".join(parts))


def staff_safeguarding_reply(profile: SchoolProfile, groups: Sequence[str] = ()) -> Reply:
    """For staff on Slack: the school's child protection procedure, and the concern goes to the DSL.

    Staff have their own duties (Keeping children safe in education), so the reply reminds
    them of the procedure rather than giving them the parents' helplines. A member of staff
    who is thinking of suicide or self-harm themselves gets help for themselves first.
    """
    groups = _groups(groups)
    dsl, deputy = profile.dsl, profile.deputy_dsl
    tell = f"the designated safeguarding lead, {dsl.name}" if dsl.name else "the designated safeguarding lead"
    if dsl.contact_line():
        tell += f" ({dsl.contact_line()})"
    if deputy.name:
        tell += f", or the deputy, {deputy.name}" + (
            f" ({deputy.contact_line()})" if deputy.contact_line() else ""
        )
    parts = []
    if groups[0] == "self_harm":
        parts.append(_first_line(groups))
        parts.append(_self_harm("adult"))
    about_others = [g for g in groups if g != "self_harm"]
    if about_others:
        danger = "danger_now" in groups
        steps = [
            "• If a child is in immediate danger or missing, call 999 now, then tell the DSL."
            if danger
            else "• If a child is in immediate danger, call 999 now, then tell the DSL.",
            f"• Tell {tell} today, in person or by phone, not only in writing.",
            "• Write down what you saw or heard, in the child's own words, with the date and time. "
            "Don't investigate, ask leading questions or promise to keep it secret.",
        ]
        if "domestic_abuse" in groups:
            line = helpline("domestic_abuse")
            steps.append(
                f"• For a parent living with domestic abuse: the {line.name}, {line.number}, "
                f"free, {line.hours}."
            )
        if profile.child_protection_policy_url:
            steps.append(f"• The school's child protection policy: {profile.child_protection_policy_url}")
        parts.append(
            "Thank you for raising this. Please follow the school's child protection procedure now:\n"
            + "\n".join(steps)
        )
    parts.append(
        "I've passed your message to the safeguarding lead as well."
        if about_others
        else f"I can't keep this private: I've passed your message to the safeguarding lead"
        f"{', ' + dsl.name if dsl.name else ''}, so that someone at school can support you."
    )
    return Reply("\n\n".join(parts))
