"""Reading what a message asks for: each part's answer, a decline, or honesty (issue #15).

These use a small bank written here, so they say how the reading works whatever the
shipped content holds. Quality on real questions is measured on the blind sets
(tests/system/test_answers_e2e.py).
"""

from __future__ import annotations

import pytest

from knowledge.parents.retrieval import AnswerIndex, Entry, words
from knowledge.parents.understanding import (
    is_about_send,
    parts_with_context,
    question_parts,
    read_question,
    words_fit_intent,
)

BANK = AnswerIndex(
    [
        Entry(
            "review-reports",
            "annual_review",
            "Seeing the reports before an annual review",
            (
                "Can I see the reports before the annual review meeting?",
                "when should we get the paperwork for the review",
                "how long before the review should advice be sent out",
            ),
            ("review reports",),
        ),
        Entry(
            "who-can-request",
            "request_assessment",
            "Who can ask for an EHC needs assessment",
            (
                "Who can ask the council for an EHC needs assessment?",
                "can a parent request an assessment themselves",
                "does the school have to apply for the EHCP assessment",
            ),
        ),
        Entry(
            "local-offer-what",
            "local_offer",
            "What the local offer is",
            (
                "What is the local offer?",
                "what does the council's local offer include",
                "where do I find the local offer",
            ),
        ),
        Entry(
            "mediation-certificate",
            "appeal",
            "How soon the mediation certificate comes",
            (
                "How quickly do I get a mediation certificate?",
                "when is the mediation certificate issued",
                "how many days for the certificate after mediation",
            ),
        ),
    ]
)


def _slugs(reading) -> list[str]:
    return [m.entry.slug for m in reading.answers]


def test_a_question_asked_in_other_words_finds_its_answer():
    reading = read_question("will we get the reports before the annual review?", BANK)
    assert _slugs(reading) == ["review-reports"]


def test_typing_slips_still_find_the_answer():
    reading = read_question("can i see the reprots befor the anual reveiw meeting", BANK)
    assert _slugs(reading) == ["review-reports"]


def test_each_part_of_a_two_part_question_gets_its_answer_in_order():
    text = "Who can ask the council for an assessment, and how quickly do I get a mediation certificate?"
    assert question_parts(text) == [
        "Who can ask the council for an assessment",
        "how quickly do I get a mediation certificate?",
    ]
    assert _slugs(read_question(text, BANK)) == ["who-can-request", "mediation-certificate"]


def test_sentences_are_parts_and_a_short_tail_stays_with_its_question():
    text = "What is the local offer? Thanks so much."
    assert question_parts(text) == [text]
    assert len(question_parts("What is the local offer? Also, who can ask for an assessment?")) == 2


def test_an_off_topic_message_is_not_about_send_and_gets_no_answer():
    reading = read_question("how do I renew my car tax online", BANK)
    assert reading.answers == () and reading.off_topic


@pytest.mark.parametrize(
    "text",
    [
        "recommend a film for tonight",
        "what's 15% of 80",
        "best knife for carving a roast",
        "term dates please",
    ],
)
def test_everyday_messages_are_off_topic(text):
    assert read_question(text, BANK).off_topic


def test_a_send_question_with_no_close_answer_is_about_send_but_unanswered():
    reading = read_question("does my son's autism diagnosis change his council tax band", BANK)
    assert reading.answers == () and reading.about_send and not reading.off_topic


def test_the_models_topic_nudges_only_answers_of_that_topic():
    text = "paperwork for the certificate"
    plain = {m.entry.slug: m.score for m in BANK.rank(text)}
    nudged = {m.entry.slug: m.score for m in BANK.rank(text, {"annual_review": 0.9})}
    assert nudged["review-reports"] > plain["review-reports"]
    assert nudged["mediation-certificate"] == plain["mediation-certificate"]


def test_question_words_count_so_who_and_when_differ():
    assert "who" in words("Who can ask?") and "when" in words("When is it?")


def test_an_answer_added_to_the_bank_is_found_at_once():
    grown = AnswerIndex(
        [
            *BANK.entries,
            Entry(
                "sensory-room",
                "everyday_support",
                "Our sensory room",
                ("Do you have a sensory room?", "is there a quiet room", "where can he calm down"),
            ),
        ]
    )
    assert _slugs(read_question("have you got a sensory room at school", grown)) == ["sensory-room"]


@pytest.mark.parametrize(
    ("text", "about"),
    [
        ("my daughter has ADHD, what help can she get", True),
        ("is an IEP the same as a support plan", True),
        ("what's the weather tomorrow", False),
        ("can you write a poem about autumn", False),
        ("the council hasn't collected my bins", False),
        # an EHC plan called "the plan", a council's decision about a child's education (2026-12-07)
        ("Quick check on an EHCP: who signs it off?", True),
        ("can the council stop his plan when he turns 19", True),
        ("the LA won't name the school we asked for", True),
        ("how long do I get to comment on the draft plan", True),
        ("what's the plan for Christmas dinner", False),
        ("the council says our parking permit has expired", False),
        # the stages of an EHC plan and the school it names (2026-12-07)
        ("at the draft stage can I say which school I want", True),
        ("which school gets named in the final version", True),
        ("the draft stage of my novel is taking forever", False),
        ("is the school named after a saint", False),
        ("can you help me draft an email to the school about the trip", False),
        # SEND questions without our words, the council's decisions mistyped (2026-12-07)
        ("counsil wont decied on the assesment till after easter, can they", True),
        ("is 3 miles past the statutory walking distance for a 9 year old", True),
        ("the school sent him home for two days because of his behaviour, who teaches him", True),
        ("what can the independent review panel actually change", True),
        ("the council has a problem with our bins again", False),
        ("what's the walking route up Snowdon", False),
    ],
)
def test_send_words_tell_send_questions_from_everyday_ones(text, about):
    assert is_about_send(text) is about


def test_a_slip_is_corrected_towards_the_answers_own_words_not_a_slip_in_one_way_of_asking():
    """A way of asking may keep a slip on purpose ("do u need a diagnoses"); a parent's own slip
    ("diagnosys") is read as the answer's word, and diagnosis and diagnoses are one word."""
    bank = AnswerIndex(
        [
            Entry(
                "no-diagnosis-needed",
                "sen_support",
                "Support without a diagnosis",
                ("Does my child need a diagnosis to get help?", "do u need a diagnoses for help at school"),
                answer="No. A diagnosis is not needed: support follows need.",
            ),
            Entry(
                "who-can-request",
                "request_assessment",
                "Who can ask for an EHC needs assessment",
                ("Who can ask the council for an EHC needs assessment?",),
                answer="A parent, the young person or the school can ask.",
            ),
        ]
    )
    assert bank.spelt_right("diagnosys") == "diagnosis"
    assert _slugs(read_question("does he need a diagnosys for help", bank)) == ["no-diagnosis-needed"]


def test_a_lead_in_before_a_comma_belongs_to_the_question_it_leads_into():
    """ "If the council agrees to assess, how quickly...?" asks one thing: the lead-in sets the
    scene and is not a question of its own to be answered separately."""
    text = "If the council agrees to assess, how quickly do I get a mediation certificate?"
    assert parts_with_context(text) == [
        ("how quickly do I get a mediation certificate?", "If the council agrees to assess")
    ]
    assert _slugs(read_question(text, BANK)) == ["mediation-certificate"]
    assert question_parts("At the review stage, can I see the reports before the meeting?") == [
        "can I see the reports before the meeting?"
    ]


def test_a_lead_in_does_not_swallow_a_second_question_joined_by_and():
    text = "If the council agrees, who can ask for an assessment, and how quickly is the certificate issued?"
    assert parts_with_context(text) == [
        ("who can ask for an assessment", "If the council agrees"),
        ("how quickly is the certificate issued?", "who can ask for an assessment"),
    ]


def test_a_later_part_gets_its_own_answer_even_when_the_part_before_it_outweighs_it_in_context():
    """Read with the part before it, "how quickly is the certificate issued?" is nearest that
    part's answer; read alone, it is plainly about the certificate, and it must be answered."""
    text = "Who can ask the council for an EHC needs assessment, and how quickly is the certificate issued?"
    assert _slugs(read_question(text, BANK)) == ["who-can-request", "mediation-certificate"]


def test_a_lead_in_with_only_a_short_tail_is_what_the_tail_asks_about():
    text = "they say the reports come after the annual review meeting, is that right?"
    assert question_parts(text) == [text]


def test_a_question_after_a_colon_is_not_a_lead_in():
    text = "Parent here: who can ask for an assessment, and how quickly is the certificate issued?"
    assert question_parts(text) == [
        "Parent here: who can ask for an assessment",
        "how quickly is the certificate issued?",
    ]


@pytest.mark.parametrize("joined", ["by when", "from which day", "in what way", "for how long"])
def test_a_question_joined_on_may_open_with_a_preposition(joined):
    text = f"Who can ask the council for an assessment, and {joined} is the mediation certificate issued?"
    assert question_parts(text) == [
        "Who can ask the council for an assessment",
        f"{joined} is the mediation certificate issued?",
    ]


def test_a_list_after_a_colon_is_a_part_for_each_item():
    """ "...the rules on these: A, B, and C?" asks three things; the words before the colon are
    each item's context."""
    text = (
        "What are the rules on these: reports before the review meeting, who may request an "
        "assessment, and issuing the mediation certificate?"
    )
    assert question_parts(text) == [
        "reports before the review meeting",
        "who may request an assessment",
        "issuing the mediation certificate?",
    ]
    assert _slugs(read_question(text, BANK)) == ["review-reports", "who-can-request", "mediation-certificate"]
    # a colon after a greeting or a role is not a list, nor is a colon in a time
    assert question_parts("Parent here: who can ask for an assessment?") == [
        "Parent here: who can ask for an assessment?"
    ]
    timed = "What happens at 9:15 on the review day, and who chairs the review meeting?"
    assert question_parts(timed) == [
        "What happens at 9:15 on the review day",
        "who chairs the review meeting?",
    ]


EOTAS_BANK = AnswerIndex(
    [
        Entry(
            "eotas-what",
            "what_is_ehcp",
            "What EOTAS is",
            (
                "What is EOTAS?",
                "what does education otherwise than at school mean",
                "is EOTAS the same as home education",
            ),
        ),
        Entry(
            "eotas-law",
            "what_is_ehcp",
            "The law that allows EOTAS",
            (
                "Which law allows EOTAS?",
                "what legislation lets the council arrange education otherwise than at school",
                "is EOTAS in the law",
            ),
        ),
        Entry(
            "disability-law",
            "reasonable_adjustments",
            "The law on disability at school",
            (
                "Which law protects disabled pupils?",
                "what law is a disability discrimination claim under",
                "is there a law that says schools must make adjustments",
            ),
        ),
    ]
)


@pytest.mark.parametrize("pronoun", ["it", "that", "this"])
def test_a_part_that_leans_on_it_is_about_the_earlier_parts_subject(pronoun):
    """ "..., and which law is it under?": "it" is EOTAS, so the answer is the law for EOTAS, even
    though the earlier part's answer is nearer still when the two are read together."""
    text = f"Is EOTAS the same as home education, and which law is {pronoun} under?"
    assert _slugs(read_question(text, EOTAS_BANK)) == ["eotas-what", "eotas-law"]


def test_each_part_keeps_its_answer_before_a_near_tie_of_another_part_takes_the_room():
    """Three parts, three answers: a near-tie second answer to the first part is a bonus, and
    never pushes the third part's own answer out of the reply."""
    twins = AnswerIndex(
        [
            *BANK.entries,
            Entry(
                "review-reports-twin",
                "annual_review",
                "Reports before the review meeting",
                (
                    "Can I see the reports before the annual review meeting?",
                    "when should we get the paperwork for the review",
                    "how long before the review should advice be sent out",
                ),
                ("review reports",),
            ),
        ]
    )
    text = (
        "Can I see the reports before the annual review meeting, and who can ask the council for an "
        "EHC needs assessment, and how quickly do I get a mediation certificate?"
    )
    slugs = _slugs(read_question(text, twins))
    assert slugs[1:] == ["who-can-request", "mediation-certificate"]
    assert slugs[0] in {"review-reports", "review-reports-twin"}


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("what do you keep about me", True),
        ("how long do you keep our chats for", True),
        ("is this chat recorded", True),
        ("do you save my childs name if i tell you it", True),
        ("subject access request", True),
        ("where does my data go after I close the chat", True),
        # "keep" and "information" in an everyday question are not about what the bot holds
        ("which houseplants are safe to keep if you have a cat", False),
        ("where can I find information about bin collections", False),
        ("how long can you keep cooked rice in the fridge", False),
    ],
)
def test_what_we_hold_is_given_only_when_the_words_ask_about_this_chat_or_me(text, fits):
    assert words_fit_intent("ask_my_data", text) is fits
