"""Run `python -m bot ...` as a real process with a clean FRAMEWATCH_* environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_framewatch(
    *args: str, cwd: Path, db: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI in `cwd` (where a developer's .env cannot reach), database `db` or cwd's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    clean.update(
        PYTHONPATH=str(PROJECT_ROOT),
        PYTHONIOENCODING="utf-8",
        FRAMEWATCH_DB_PATH=str(db or cwd / "framewatch.db"),
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
