"""Answer quality on the DEVELOPMENT sets, fast: the trained NLU model and the real custom
actions in-process, against a fresh SQLite database of the shipped content.

The gate in `make test` measures the hold-outs through the real servers
(tests/system/test_answers_e2e.py); this tool is for tuning, on tests/answers/*_dev.yml only.

    .venv/bin/python scripts/measure_answers.py [--show] [--no-model] [--offtopic=offtopic_dev2.yml]
        [--questions=questions_dev2.yml] [--parses=/tmp/parses.json] [--results=/tmp/results.json]

`--parses`: the NLU model's readings are kept in that file (for this model file only) and read
from it next time, so a run that changes only the answer choice takes seconds, not minutes.
`--results`: each message's outcome as JSON, to compare two runs.

A question counts as answered when the reply holds a phrase of every part's `expect`
(tests/answers/grading.py); an off-topic message counts as declined when the reply is the
honest decline. The pattern screen runs first, as the input guard does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402
from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from bot.training import MODEL_FILE  # noqa: E402
from connectors.rasa import input_guard  # noqa: E402
from knowledge.safeguarding import screening  # noqa: E402
from knowledge.shared.settings import PROJECT_ROOT, get_settings  # noqa: E402
from tests.answers import grading  # noqa: E402

SETS = PROJECT_ROOT / "tests/answers"
OFF_TOPIC_SETS = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--offtopic=")] or ["offtopic_dev.yml"]
QUESTION_SETS = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--questions=")] or [
    "questions_dev.yml"
]


def _option(name: str) -> Path | None:
    given = [a.split("=", 1)[1] for a in sys.argv if a.startswith(f"--{name}=")]
    return Path(given[0]) if given else None


PARSES_FILE = _option("parses")
RESULTS_FILE = _option("results")
if any("holdout" in name for name in OFF_TOPIC_SETS + QUESTION_SETS):
    sys.exit("Hold-out sets are measured by the system tests, not tuned against here.")


def rule_actions() -> dict[str, str]:
    """intent -> action, from the single-intent rules (what the RulePolicy does on a first turn)."""
    rules = yaml.safe_load((PROJECT_ROOT / "nlu/rules/rules.yml").read_text())["rules"]
    mapping: dict[str, str] = {}
    for rule in rules:
        steps = rule["steps"]
        if len(steps) != 2 or "action" not in steps[1]:
            continue
        intents = [s["intent"] for s in steps[0].get("or", [steps[0]]) if "intent" in s]
        for intent in intents:
            mapping.setdefault(intent, steps[1]["action"])
    return mapping


def _tracker(text: str, parsed: dict) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "measure",
            "slots": {},
            "latest_message": {**parsed, "text": text, "metadata": {}, "message_id": None},
            "events": [{"event": "user", "text": text, "input_channel": "rest", "parse_data": parsed}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def action_named(module, name: str):
    import inspect

    from rasa_sdk import Action

    for obj in vars(module).values():
        concrete = inspect.isclass(obj) and issubclass(obj, Action) and not inspect.isabstract(obj)
        if concrete and obj.__module__ == module.__name__ and obj().name() == name:
            return obj()
    raise KeyError(name)


class Parser:
    """The NLU model's reading of a message, kept (per model file) when `--parses` is given;
    the model is loaded only when a message has not been read before."""

    def __init__(self, use_model: bool) -> None:
        self.use_model = use_model
        self.agent = None
        stamp = MODEL_FILE.stat() if MODEL_FILE.exists() else None
        self.model_key = f"{stamp.st_size}:{stamp.st_mtime_ns}" if stamp else "none"
        self.kept: dict[str, dict] = {}
        if PARSES_FILE is not None and PARSES_FILE.exists():
            stored = json.loads(PARSES_FILE.read_text())
            if stored.get("model") == self.model_key:
                self.kept = stored["parses"]

    async def parse(self, text: str) -> dict:
        if not self.use_model:
            return {
                "intent": {"name": "nlu_fallback", "confidence": 1.0},
                "intent_ranking": [],
                "entities": [],
            }
        if text not in self.kept:
            if self.agent is None:
                import structlog
                from rasa.core.agent import Agent

                structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
                self.agent = Agent.load(str(MODEL_FILE))
            parsed = await self.agent.parse_message(text)
            self.kept[text] = json.loads(json.dumps(parsed, default=float))
        return self.kept[text]

    def save(self) -> None:
        if PARSES_FILE is not None and self.use_model:
            PARSES_FILE.write_text(json.dumps({"model": self.model_key, "parses": self.kept}))


async def reply_to(text: str, parser: Parser, actions_module, routes: dict[str, str]) -> str:
    cleaned = input_guard.clean(text, get_settings().max_message_chars).text
    if screening.screen(cleaned).concern:
        return "[screened as safeguarding]"
    parsed = await parser.parse(cleaned)
    action_name = routes.get(parsed["intent"]["name"], "action_answer_unknown")
    action = action_named(actions_module, action_name)
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, _tracker(cleaned, parsed), {})
    return "\n".join(str(m.get("text") or "") for m in dispatcher.messages)


async def measure(show: bool, use_model: bool) -> None:
    logging.disable(logging.WARNING)
    import dataclasses

    from actions import actions as actions_module
    from bot.seed import load_everything

    parser = Parser(use_model)
    folder = Path(tempfile.mkdtemp())
    settings = dataclasses.replace(
        get_settings(), database_url=f"sqlite:///{folder / 'measure.db'}", school_articles_dir=folder / "none"
    )
    load_everything(settings)
    actions_module.get_settings = lambda: settings
    routes = rule_actions()

    questions = [q for name in QUESTION_SETS for q in yaml.safe_load((SETS / name).read_text())["questions"]]
    right, by_style, wrong, results = 0, Counter(), [], {}
    totals = Counter(q.get("style", "?") for q in questions)
    for q in questions:
        reply = await reply_to(q["text"], parser, actions_module, routes)
        results[q["text"]] = grading.answers_every_part(reply, q["expect"], q.get("must_not"))
        if results[q["text"]]:
            right += 1
            by_style[q.get("style", "?")] += 1
        else:
            wrong.append((q, reply))
    share = right / max(1, len(questions))
    print(f"{'+'.join(QUESTION_SETS)}: {right}/{len(questions)} answered right ({share:.1%})")
    print("  by style: " + ", ".join(f"{s} {by_style[s]}/{n}" for s, n in sorted(totals.items())))
    outcomes = Counter(
        "no reliable answer"
        if grading.said_no_reliable_answer(r)
        else "declined"
        if grading.declined(r)
        else "other"
        for _, r in wrong
    )
    print(f"  missed: {dict(outcomes)}")

    messages = [m for name in OFF_TOPIC_SETS for m in yaml.safe_load((SETS / name).read_text())["messages"]]
    kinds: Counter = Counter()
    leaked: list[tuple[dict, str]] = []
    for m in messages:
        reply = await reply_to(m["text"], parser, actions_module, routes)
        kind = (
            "declined"
            if grading.declined(reply)
            else "check question"
            if grading.asked_the_check_question(reply)
            else "no reliable answer"
            if grading.said_no_reliable_answer(reply)
            else "other"
        )
        kinds[kind] += 1
        results[m["text"]] = kind == "declined"
        if kind != "declined":
            leaked.append((m, reply))
    print(f"{'+'.join(OFF_TOPIC_SETS)}: {kinds['declined']}/{len(messages)} declined; {dict(kinds)}")
    parser.save()
    if RESULTS_FILE is not None:
        RESULTS_FILE.write_text(json.dumps(results, indent=0))
    if show:
        print("\n--- questions missed ---")
        for q, reply in wrong:
            print(f"* {q['text']}\n  expect {q['expect']}\n  got: {reply[:300]!r}")
        print("\n--- off-topic not declined ---")
        for m, reply in leaked:
            print(f"* {m['text']}\n  got: {reply[:200]!r}")


if __name__ == "__main__":
    asyncio.run(measure(show="--show" in sys.argv, use_model="--no-model" not in sys.argv))
