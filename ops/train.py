"""Train the Rasa model only when its inputs changed.

The inputs are config.yml, domain/, the training data (NLU, rules, stories,
the jieba dictionary) and the custom NLU components (bot/*.py; the channels in
bot/channels/ are not part of the model).  Their SHA-256 is
written next to the model; `make run` and the test harness call
`ensure_model()`, which returns at once when the fingerprint still matches.
Rasa's own fingerprint does not see the jieba dictionary files, so a change
here retrains with --force.
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import settings

ROOT = settings.ROOT
INPUTS = ["config.yml", "domain", "data/nlu", "data/rules", "data/stories", "data/jieba_dict", "bot/*.py"]


def model_path() -> Path:
    return settings.get().model_path


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        if "*" in name:
            files = sorted(ROOT.glob(name))
        else:
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _stamp() -> Path:
    return model_path().with_suffix(".fingerprint")


def is_current() -> bool:
    stamp = _stamp()
    return model_path().exists() and stamp.exists() and stamp.read_text().strip() == fingerprint()


def ensure_model() -> Path:
    """Train if needed (serialised by a file lock) and return the model path."""
    model_dir = settings.get().model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_current():
            print(f"model is up to date: {model_path()}")
            return model_path()
        wanted = fingerprint()
        print("training the model (inputs changed) …", flush=True)
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable, "-m", "rasa", "train", "--force",
                "--config", "config.yml", "--domain", "domain", "--data", "data/nlu", "data/rules",
                "data/stories", "--out", str(model_dir), "--fixed-model-name", model_path().name.removesuffix(".tar.gz"),
            ],
            cwd=ROOT,
            check=True,
        )
        _stamp().write_text(wanted)
        print(f"trained in {time.monotonic() - started:.0f} s: {model_path()}")
        return model_path()


if __name__ == "__main__":
    ensure_model()
