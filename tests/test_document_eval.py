"""The full evaluation over shared/data/id_documents (45 documents, a few seconds a document on a Pi)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_eval_documents_meets_the_targets(data_dir: Path, repo_dir: Path) -> None:
    p = subprocess.run(
        [
            sys.executable,
            str(repo_dir / "scripts" / "eval_documents.py"),
            "--json",
            "--no-match",
            "--data",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr
    tot = json.loads(p.stdout)["totals"]
    assert tot["with_portrait"] == 37 and tot["without_portrait"] == 8
    assert tot["found"] >= 34
    assert tot["false_portraits"] == 0
