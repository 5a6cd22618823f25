"""Set-up behaviour behind `make run` / `make test`: finding Python 3.10, training only when needed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot import training
from knowledge.shared.settings import PROJECT_ROOT

FIND_PYTHON = PROJECT_ROOT / "scripts/find-python310"


def test_find_python310_prints_a_310_interpreter():
    result = subprocess.run([FIND_PYTHON], capture_output=True, text=True, check=True)
    version = subprocess.run(
        [result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "(3, 10)"


def test_find_python310_says_clearly_when_there_is_none(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "sort", "grep", "cat"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    result = subprocess.run(["sh", FIND_PYTHON], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "no Python 3.10 interpreter found" in result.stderr
    assert "PYTHON310" in result.stderr


def _copy_training_inputs(root: Path) -> None:
    for name in training.TRAINING_INPUTS:
        source = PROJECT_ROOT / name
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)


def test_the_model_fingerprint_changes_with_training_data_but_not_with_articles(tmp_path):
    _copy_training_inputs(tmp_path)
    before = training.fingerprint(tmp_path)
    (tmp_path / "knowledge/content/articles").mkdir(parents=True, exist_ok=True)
    (tmp_path / "knowledge/content/articles/new.yml").write_text("- slug: x\n")
    assert training.fingerprint(tmp_path) == before

    nlu_file = next((tmp_path / "nlu/training").glob("*.yml"))
    nlu_file.write_text(nlu_file.read_text() + "\n")
    assert training.fingerprint(tmp_path) != before


def test_training_is_skipped_when_the_model_is_current(monkeypatch, tmp_path, capsys):
    model = tmp_path / "sendbot.tar.gz"
    model.write_text("model")
    stamp = tmp_path / "sendbot.fingerprint"
    stamp.write_text(training.fingerprint() + "\n")
    monkeypatch.setattr(training, "MODEL_FILE", model)
    monkeypatch.setattr(training, "FINGERPRINT_FILE", stamp)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    assert training.train() == model
    assert "not retraining" in capsys.readouterr().out


def test_ci_runs_make_test_and_nothing_else():
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[-1] == "exec make test"
    assert os.access(PROJECT_ROOT / ".ci/run", os.X_OK)
