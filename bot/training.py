"""Train the Rasa model only when what it is trained from has changed.

The fingerprint covers the training data, domain, config and the spaCy pipeline's
inputs. Article text and local offer data are NOT in it: they live in the database
and change without retraining.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from knowledge.shared.settings import PROJECT_ROOT

MODEL_DIR = PROJECT_ROOT / "models"
MODEL_NAME = "sendbot"
MODEL_FILE = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_FILE = MODEL_DIR / f"{MODEL_NAME}.fingerprint"

# Rasa's training data: NLU examples and dialogue rules, beside the spaCy pipeline that reads them.
TRAINING_DATA = ("nlu/training", "nlu/rules")
TRAINING_INPUTS = (
    "config.yml",
    "domain.yml",
    *TRAINING_DATA,
    "knowledge/content/glossary.yml",
    "nlu/spacy_pipeline.py",
)


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_is_current(root: Path = PROJECT_ROOT) -> bool:
    return (
        MODEL_FILE.exists()
        and FINGERPRINT_FILE.exists()
        and FINGERPRINT_FILE.read_text().strip() == fingerprint(root)
    )


def train(force: bool = False) -> Path:
    """Train into models/sendbot.tar.gz unless it is already current."""
    if not force and model_is_current():
        print(f"Model is up to date (models/{MODEL_FILE.name}); not retraining.")
        return MODEL_FILE
    print("Training the Rasa model (training data, domain or config changed)...", flush=True)
    wanted = fingerprint()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    # Trained beside the model, then swapped in whole: a Rasa server starting meanwhile
    # loads the old model, never half a file.
    staging = MODEL_DIR / ".training"
    command = [
        sys.executable, "-m", "rasa", "train",
        "--config", "config.yml", "--domain", "domain.yml", "--data", *TRAINING_DATA,
        "--out", str(staging), "--fixed-model-name", MODEL_NAME,
    ]  # fmt: skip
    subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True)
    os.replace(staging / MODEL_FILE.name, MODEL_FILE)
    FINGERPRINT_FILE.write_text(wanted + "\n")
    return MODEL_FILE
