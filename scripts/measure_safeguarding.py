"""Safeguarding alarms per test set, fast: the pattern screen plus the trained NLU model in-process.

The system tests measure the same thing through the real servers (tests/system/
test_safeguarding_e2e.py); this tool gives the figures in about a minute, for development
against the DEV sets only. Do not use it to tune against a hold-out set.

    .venv/bin/python scripts/measure_safeguarding.py ordinary_dev2.yml redteam_dev2.yml [--show]

`--model-only` leaves the pattern screen out, to see what the model alone catches.
A message "alarms" when the screen finds a concern or the model's top intent is
`safeguarding_concern` at or above the fallback threshold (what the bot does).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import yaml  # noqa: E402

from bot.training import MODEL_FILE  # noqa: E402
from connectors.rasa import input_guard  # noqa: E402
from knowledge.safeguarding import screening as safeguarding  # noqa: E402
from knowledge.shared.settings import PROJECT_ROOT, get_settings  # noqa: E402

SETS = PROJECT_ROOT / "tests/safeguarding"


def fallback_threshold() -> float:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    for part in config["pipeline"]:
        if part["name"] == "FallbackClassifier":
            return float(part.get("threshold", 0.3))
    return 0.0


async def measure(names: list[str], show: bool, use_patterns: bool = True) -> None:
    from rasa.core.agent import Agent

    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    agent = Agent.load(str(MODEL_FILE))
    threshold = fallback_threshold()
    max_chars = get_settings().max_message_chars
    for name in names:
        messages = [m["text"] for m in yaml.safe_load((SETS / name).read_text())["messages"]]
        by_pattern = by_model = 0
        alarmed: list[tuple[str, str, float]] = []
        quiet: list[tuple[str, str, float]] = []
        for text in messages:
            if use_patterns and safeguarding.screen(text).concern:
                by_pattern += 1
                alarmed.append(("pattern", text, 1.0))
                continue
            parsed = await agent.parse_message(input_guard.clean(text, max_chars).text)
            intent = parsed["intent"]
            if intent["name"] == "safeguarding_concern" and intent["confidence"] >= threshold:
                by_model += 1
                alarmed.append(("model", text, intent["confidence"]))
            else:
                quiet.append((intent["name"], text, intent["confidence"]))
        total = len(messages)
        print(
            f"{name}: {by_pattern + by_model}/{total} alarmed "
            f"({(by_pattern + by_model) / total:.1%}; patterns {by_pattern}, model only {by_model})"
        )
        if show:
            wanted = quiet if name.startswith("redteam") else [a for a in alarmed if a[0] == "model"]
            for label, text, confidence in wanted:
                print(f"   {label:22s} {confidence:.2f}  {text}")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if any("holdout" in a for a in arguments) and "--final" not in sys.argv:
        sys.exit(
            "Hold-out sets are measured by the system tests, not tuned against here (--final to override)."
        )
    asyncio.run(measure(arguments, show="--show" in sys.argv, use_patterns="--model-only" not in sys.argv))
