"""Cost of answering a parent's question, in-process (part of `make bench`).

Times `Assistant.answer_question` (the word search over the answer bank and articles, the
reply, and a note for the school when there is no answer) on the shipped content in a
fresh SQLite database, without Rasa: what the action server does for each question after
the NLU model. The first message builds the search index; later messages should only pay
for the search. Then a few hundred varied questions (specific, two-part, broad, typed with
slips, rambling, off-topic; written for this benchmark, not taken from the test sets) one at
a time, and again from several threads at once, as the action server's thread pool does.

    .venv/bin/python -m bench.answering
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import resource
import tempfile
import threading
import time
from pathlib import Path

from bot.seed import load_everything
from knowledge.parents.assistant import Assistant
from knowledge.shared.settings import Settings, get_settings

THREADS = 8

SPECIFIC = (
    "can I see the reports before the annual review meeting",
    "who decides what goes in section F of the plan",
    "how long does the council have to decide whether to assess my son",
    "can my mum ask for an assessment for my daughter",
    "what happens to the EHCP if we move to another county",
    "is an IEP the same thing as a support plan",
    "how long do I get to comment on the draft plan",
    "can the council refuse the school we asked for",
    "what does specific mean for provision in an EHC plan",
    "does the plan stop when she turns 19",
    "who has to come to the annual review",
    "is mediation free",
    "do I have to go to mediation before I appeal",
    "how long after mediation do I get the certificate",
    "what can I do if the support in the plan is not being given",
    "can I complain to the ombudsman about the council",
    "the council said no to a reassessment, what now",
    "can the council cease the plan without asking us",
    "what is the preparing for adulthood review in year 9",
    "when do the rights pass to my son instead of me",
    "how does the school pay for SEN support",
    "how often should school meet me about SEN support",
    "is it legal for school to put my child on a part time timetable",
    "can they exclude my autistic son because of his behaviour",
    "does the school have to support his diabetes",
    "how do I make a disability discrimination claim against a school",
    "what is EOTAS and who can get it",
    "will the council pay for transport to a special school",
    "what is the white paper saying about EHCPs",
    "are the 2026 reforms law yet",
    "does my child keep her plan while the reforms are consulted on",
    "what qualification does a SENCo need",
    "can the head teacher be the SENCo",
    "can I ask for a personal budget",
    "what counts as long term for disability",
    "how long does the whole EHCP process take",
    "what is the SEN information report",
    "who is the SENCo and how do I contact them",
    "what does SENDIASS do for parents",
    "what is the local offer",
    "how do I appeal to the tribunal",
    "how long do I have to appeal a decision",
    "what is a graduated approach",
    "what are the four areas of need",
    "can my child get an EHCP without a diagnosis",
    "does my child need a diagnosis to get SEN support",
    "what is an educational psychologist assessment",
    "can school refuse to do an EHCP application",
    "what happens after the annual review meeting",
    "how long does the council take to amend the plan after a review",
)
TWO_PART = (
    "what is the local offer, and is there a swimming group for autistic children on it?",
    "how long does the council have to decide on an assessment, and can I appeal if they say no?",
    "who writes the plan and can I see the draft first?",
    "is mediation free and how long does it take?",
    "can school reduce his hours, and what can I do about it?",
    "what is SEN support and how often will you review it?",
    "does she keep the plan at college and until what age?",
    "who comes to the review and can I bring someone with me?",
    "what is a personal budget and can I spend it in school?",
    "what are the exceptions to the 6 week deadline and do holidays count?",
)
BROAD = (
    "tell me about EHCPs",
    "annual reviews?",
    "SEN support",
    "appeals",
    "mediation",
    "transport",
    "exclusions",
    "the local offer",
    "tell me about the tribunal",
    "personal budgets",
)
TYPED = (
    "how lng dose the asessment take",
    "wat hapens at the anual reveiw",
    "can u apeal a ehcp desicion",
    "is ther a sencco i can talk 2",
    "wen do i get the draft plan",
    "hw do i ask 4 an ehc needs asessment",
    "my son got exlcuded agen wat can i do",
    "cn the council refuse 2 name the school i want",
    "is madiation compulsry b4 tribnal",
    "whos the person who does send at skool",
)
RAMBLING = (
    "Sorry this is a long one. My daughter is 8 and has been struggling for ages with reading and "
    "now she won't go into school most mornings. The school says she is on SEN support but I have "
    "never seen a plan or been to a meeting. What should the school be doing and can I ask for more?",
    "Hi, we moved here from another part of the country in the summer and my son had an EHCP there. "
    "The new school says they have not heard anything from the council. Does the plan come with us "
    "and who is supposed to sort it out?",
    "I went to the annual review in March and everyone agreed his hours should go up, but it is now "
    "June and nothing has changed and no one answers my emails. How long should it take?",
    "Our council refused to assess and said school should use its own resources first, but school "
    "says they have done everything they can. I am at the end of my tether, what are my options?",
    "Just wondering, because nobody has explained it to me, what actually is the difference between "
    "the support she gets now and having a proper plan, and would it make any difference to her?",
)
OFF_TOPIC = (
    "how do I renew my car tax online",
    "recommend a film for tonight",
    "what's 15% of 80",
    "what time does the tip open on sunday",
    "how do I reset my router",
    "what's the weather tomorrow",
    "can you write me a birthday poem for my nan",
    "best way to cook a jacket potato",
    "who won the football last night",
    "how many miles is it to Leeds",
    "translate good morning into French",
    "is the post office open on bank holidays",
    "how do I change my energy supplier",
    "what should I get my husband for christmas",
    "how long do you boil an egg for",
    "tell me a joke",
    "what is the capital of Australia",
    "my phone screen is cracked where can I fix it",
    "how do I get a refund from Amazon",
    "what's a good name for a puppy",
    "when is the next full moon",
    "how do I unblock a sink",
    "can you book me a table for two",
    "how much is a first class stamp",
    "what's on telly tonight",
)
FRAMINGS = ("{}", "Hi, quick question: {}", "{} thanks")


def questions() -> list[str]:
    """Every base message in each framing: a few hundred different strings."""
    base = SPECIFIC + TWO_PART + BROAD + TYPED + RAMBLING + OFF_TOPIC
    return [framing.format(text) for framing in FRAMINGS for text in base]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(assistant: Assistant, text: str) -> float:
    started = time.perf_counter()
    assistant.answer_question(text, [], channel="bench")
    return (time.perf_counter() - started) * 1000


def one_at_a_time(assistant: Assistant, texts: list[str]) -> tuple[list[float], float]:
    """Latencies in ms, and the wall time in s, answering `texts` in turn."""
    started = time.perf_counter()
    latencies = [_timed(assistant, text) for text in texts]
    return latencies, time.perf_counter() - started


def from_threads(assistant: Assistant, texts: list[str], threads: int) -> tuple[list[float], float]:
    """The same, from `threads` threads taking the next question as each finishes."""
    queue = iter(texts)
    taking = threading.Lock()
    latencies: list[float] = []

    def work() -> None:
        while True:
            with taking:
                text = next(queue, None)
            if text is None:
                return
            took = _timed(assistant, text)
            with taking:
                latencies.append(took)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, time.perf_counter() - started


def _figures(prefix: str, latencies: list[float], wall_s: float) -> dict[str, float]:
    return {
        f"{prefix}_p50_ms": round(percentile(latencies, 50), 2),
        f"{prefix}_p95_ms": round(percentile(latencies, 95), 2),
        f"{prefix}_p99_ms": round(percentile(latencies, 99), 2),
        f"{prefix}_per_s": round(len(latencies) / wall_s, 1),
    }


def bench_settings(folder: Path) -> Settings:
    return dataclasses.replace(
        get_settings(),
        database_url=f"sqlite:///{folder / 'answering.db'}",
        school_articles_dir=folder / "no_school_articles",
    )


def measure() -> dict[str, float]:
    """First-message time, latency percentiles and messages per second, one thread and
    THREADS threads, and peak memory."""
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "no reliable answer" notes for the school are expected
    try:
        with tempfile.TemporaryDirectory(prefix="sendbot-answering-") as tmp:
            settings = bench_settings(Path(tmp))
            load_everything(settings)
            assistant = Assistant(settings)
            texts = questions()
            rss_before = peak_rss_mb()
            first_ms = _timed(assistant, texts[0])
            single = one_at_a_time(assistant, texts)
            threaded = from_threads(assistant, list(itertools.chain(texts, texts)), THREADS)
    finally:
        quiet.setLevel(level)
    return {
        "answer_messages": len(texts),
        "answer_first_ms": round(first_ms, 1),
        **_figures("answer", *single),
        **_figures(f"answer_{THREADS}t", *threaded),
        "answer_peak_rss_mb": round(peak_rss_mb()),
        "answer_rss_growth_mb": round(peak_rss_mb() - rss_before),
    }


def report_lines(figures: dict[str, float]) -> list[str]:
    """The figures as a few readable lines."""
    f, t = figures, f"answer_{THREADS}t"
    return [
        f"answering a question (Assistant.answer_question, in-process, {f['answer_messages']} messages):",
        f"  first message (builds the search index): {f['answer_first_ms']} ms",
        f"  one at a time: p50 {f['answer_p50_ms']} ms, p95 {f['answer_p95_ms']} ms, "
        f"p99 {f['answer_p99_ms']} ms, {f['answer_per_s']} messages/s",
        f"  {THREADS} threads: p50 {f[t + '_p50_ms']} ms, p95 {f[t + '_p95_ms']} ms, "
        f"p99 {f[t + '_p99_ms']} ms, {f[t + '_per_s']} messages/s",
        f"  peak memory (RSS) {f['answer_peak_rss_mb']} MB, of which {f['answer_rss_growth_mb']} MB "
        "since the database was loaded",
    ]


if __name__ == "__main__":
    for line in report_lines(measure()):
        print(line)
