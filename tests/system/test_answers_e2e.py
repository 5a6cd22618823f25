"""Parents and staff get the answer to the question they asked, and an honest decline for
everything else (issue #15), through the real REST channel.

Blind sets in tests/answers/, written by helpers who saw only the law and the issue, never the
answers, the training data or the code:
- `questions_*.yml`: SEND questions as parents and staff type them (specific, two- and
  three-part, rambling, typos), each with the facts a right answer must contain, one entry per
  part (graded on the fact, not the wording: tests/answers/grading.py);
- `offtopic_*.yml`: everyday messages of the kinds people send any assistant.
The `_dev` sets are for tuning (scripts/measure_answers.py); the `_holdout` sets are measured
only here, and only their figures are printed. The figures are written to
results/answers_holdout.json.
"""

from __future__ import annotations

import secrets
from collections import Counter

import pytest
import yaml

from knowledge.shared.settings import PROJECT_ROOT
from tests.answers import grading
from tests.system.conftest import record_figures, texts

SETS = PROJECT_ROOT / "tests/answers"

# The issue's gates, printed each run: not met yet.
ISSUE_MIN_ANSWERED = 0.95
ISSUE_MIN_DECLINED = 0.95
ISSUE_MAX_CHECK_QUESTIONS = 0.01
# What the hold-outs honestly reached, after tuning on the development sets only. Hold-outs 1
# and 2 (2026-12-07): first looks 147/330 and 176/330 answered right, 283/330 and 314/330
# off-topic declined; last looks 158/330 (47.9%) and 197/330 (59.7%), 301/330 and 315/330
# declined, 6/330 and 4/330 check questions. Looked at too often (figures only), they became
# development sets 2 and 3 (questions_dev2.yml, questions_dev3.yml, offtopic_dev3.yml,
# offtopic_dev4.yml) the same day, and hold-out 3 was written blind. Its floors are set from
# its first look, a few messages below it; raise them as the answers improve, and write a fresh
# hold-out after three looks.
# Hold-out 3's first look (a fresh clone at c89527d, 2026-12-07, figures only): 206/330 answered
# right (62.4%: specific 125/177, two-part 37/63, three-part 9/20, typo 22/35, rambling 13/35);
# off-topic 318/330 declined (96.4%, the issue's 95% met), 0/330 check questions. Second look
# (a fresh clone at bcfe2fa, after 5 new answers and ~300 more ways of asking had raised the
# development questions by 4, 13 and 12): 209/330 (63.3%); off-topic 318/330, 0 checks. The
# development gains mostly did not carry over to unseen wording. Third look: the stop's CI at
# b7d8ffb (passed its floors; figures not kept). Used up, hold-out 3 became development set 4
# (questions_dev4.yml, offtopic_dev5.yml) on 2026-12-08 and hold-out 4 was written blind.
# Hold-out 4's first look (2026-12-08, with a helper's answer-bank edits from development set 4
# in the working tree, figures only): 249/330 answered right (75.5%: specific 147/180, two-part
# 41/60, three-part 13/20, typo 29/35, rambling 19/35); off-topic 320/330 declined (97.0%).
QUESTION_HOLDOUTS = ("questions_holdout4.yml",)
OFF_TOPIC_HOLDOUTS = ("offtopic_holdout4.yml",)
MIN_ANSWERED = 0.74
MIN_DECLINED = 0.95
# Check questions on off-topic messages: the issue asks for at most 1%; hold-outs 1 and 2 had
# 9/330 and 2/330 after a reader change, hold-out 3 had 0/330 at its first look.
MAX_CHECK_QUESTIONS = 0.015


def _load(name: str, key: str) -> list[dict]:
    path = SETS / name
    if not path.exists():
        pytest.skip(f"{name} is not there yet")
    return yaml.safe_load(path.read_text())[key]


def _reply(bot, text: str) -> str:
    return texts(bot.say(text, "qa-" + secrets.token_hex(6)))


def _record(name: str, figures: dict) -> None:
    record_figures("answers_holdout.json", name, figures)


def _measure_questions(bot, name: str) -> tuple[int, int, Counter, Counter]:
    questions = _load(name, "questions")
    right, by_style, totals = 0, Counter(), Counter()
    for question in questions:
        style = question.get("style", "specific")
        totals[style] += 1
        if grading.answers_every_part(
            _reply(bot, question["text"]), question["expect"], question.get("must_not")
        ):
            right += 1
            by_style[style] += 1
    share = right / len(questions)
    met = "met" if share >= ISSUE_MIN_ANSWERED else f"NOT met (the issue asks {ISSUE_MIN_ANSWERED:.0%})"
    print(f"answers, end to end, {name}: {right}/{len(questions)} answered right ({share:.1%}); gate {met}")
    print("   by style: " + ", ".join(f"{s} {by_style[s]}/{n}" for s, n in sorted(totals.items())))
    _record(
        name,
        {
            "right": right,
            "total": len(questions),
            **{f"style_{s}": [by_style[s], n] for s, n in totals.items()},
        },
    )
    return right, len(questions), by_style, totals


def _measure_off_topic(bot, name: str) -> Counter:
    messages = _load(name, "messages")
    outcomes: Counter = Counter()
    for message in messages:
        reply = _reply(bot, message["text"])
        if grading.declined(reply):
            outcomes["declined"] += 1
        elif grading.asked_the_check_question(reply):
            outcomes["check question"] += 1
        elif grading.said_no_reliable_answer(reply):
            outcomes["no reliable answer"] += 1
        else:
            outcomes["answered as SEND or other"] += 1
    total = len(messages)
    met = (
        outcomes["declined"] / total >= ISSUE_MIN_DECLINED
        and outcomes["check question"] / total <= ISSUE_MAX_CHECK_QUESTIONS
    )
    print(
        f"answers, end to end, {name}: {outcomes['declined']}/{total} declined "
        f"({outcomes['declined'] / total:.1%}); {dict(outcomes)}; "
        + ("gates met" if met else "gates NOT met (the issue asks >= 95% declined, <= 1% check questions)")
    )
    _record(name, {"total": total, **outcomes})
    return outcomes


@pytest.mark.parametrize("name", QUESTION_HOLDOUTS)
def test_specific_send_questions_get_the_fact_they_asked_for(bot, name):
    right, total, _, _ = _measure_questions(bot, name)
    assert total >= 300
    assert right / total >= MIN_ANSWERED, f"{right}/{total}"


@pytest.mark.parametrize("name", OFF_TOPIC_HOLDOUTS)
def test_off_topic_messages_get_the_honest_decline_and_never_the_check_question(bot, name):
    outcomes = _measure_off_topic(bot, name)
    total = sum(outcomes.values())
    assert total >= 300
    assert outcomes["declined"] / total >= MIN_DECLINED, dict(outcomes)
    assert outcomes["check question"] / total <= MAX_CHECK_QUESTIONS, dict(outcomes)


@pytest.mark.parametrize(
    "text",
    [
        "can I book a slot in the SENCo's surgery next Tuesday?",
        "send a message to all parents about the coffee morning",
        "cancel my booking",
    ],
)
def test_on_the_parents_channels_staff_only_actions_never_run(bot, text):
    """REST is a parents' channel: surgery and broadcast requests are answered as a parent's
    words, never by the staff desks (which would say 'for school staff' or ask 'Shall I')."""
    reply = _reply(bot, text)
    assert reply and "Shall I" not in reply
    assert "is for school staff" not in reply


def test_a_two_part_question_gets_both_answers_in_one_reply(bot):
    reply = _reply(
        bot,
        "How long does the council have to decide whether to assess, and how long do I have to "
        "comment on the draft plan?",
    )
    assert "6 weeks" in reply and "15 days" in reply
