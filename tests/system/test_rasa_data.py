"""Rasa's own checks: the training data validates cleanly and the test stories pass."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.training import MODEL_FILE, TRAINING_DATA
from knowledge.shared.settings import PROJECT_ROOT

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


# Intents only buttons send (`/choose_slot{"slot_id": "12"}`); nobody types them, so
# they have no training examples, and Rasa's one warning about that is expected.
PAYLOAD_ONLY_INTENTS = ("choose_slot", "acknowledge_concern", "safeguarding_answer")


def test_rasa_data_validate_is_clean():
    result = rasa(
        "data", "validate", "--domain", "domain.yml", "--data", *TRAINING_DATA, "--config", "config.yml"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = [
        line
        for line in output.splitlines()
        if "UserWarning" in line
        and not any(f"intent '{name}' is listed in the domain file" in line for name in PAYLOAD_ONLY_INTENTS)
    ]
    assert not warnings, "\n".join(warnings)


def test_test_stories_pass_without_prediction_errors(tmp_path):
    result = rasa(
        "test", "core",
        "--model", str(MODEL_FILE),
        "--stories", "tests/stories",
        "--fail-on-prediction-errors",
        "--out", str(tmp_path),
    )  # fmt: skip
    failed = (tmp_path / "failed_test_stories.yml").read_text() if result.returncode else ""
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:] + failed
