"""Cost of the safeguarding screen per message, in microseconds (part of `make bench`).

Every inbound message is screened before anything else, so the screen must not slow a
reply noticeably. Times `knowledge.safeguarding.screening.screen` over the red-team and ordinary
sets (short messages) and a few long ones (up to the 20,000-character case).
"""

from __future__ import annotations

import time

import yaml

from knowledge.safeguarding.screening import screen
from knowledge.shared.settings import PROJECT_ROOT

ROUNDS = 20


def messages() -> list[str]:
    folder = PROJECT_ROOT / "tests/safeguarding"
    texts = [
        m["text"]
        for name in ("redteam.yml", "ordinary.yml")
        for m in yaml.safe_load((folder / name).read_text())["messages"]
    ]
    long_text = "We are waiting for the EHC needs assessment and school has been helpful. " * 270
    return texts + [long_text, long_text + "Her dad locks her in her room."]


def measure() -> dict[str, float]:
    """p50, p95 and max screening time per message, in microseconds."""
    texts = messages()
    screen(texts[0])  # load and compile the patterns outside the timing
    timings: list[float] = []
    for _ in range(ROUNDS):
        for text in texts:
            start = time.perf_counter()
            screen(text)
            timings.append((time.perf_counter() - start) * 1_000_000)
    timings.sort()
    worst = "i want to die " * 7200  # ~100,000 characters of words the screen matches every time
    start = time.perf_counter()
    screen(worst)
    return {
        "screen_p50_us": round(timings[len(timings) // 2], 1),
        "screen_p95_us": round(timings[int(len(timings) * 0.95)], 1),
        "screen_max_us": round(timings[-1], 1),
        "screen_100k_repeated_s": round(time.perf_counter() - start, 2),
    }


if __name__ == "__main__":
    print(measure())
