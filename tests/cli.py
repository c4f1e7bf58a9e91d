"""Run `python -m bot ...` as a real process with a clean FRAMEWATCH_* environment."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_framewatch(
    *args: str,
    cwd: Path,
    db: Path | None = None,
    timeout: float = 120,
    preexec_fn: Callable[[], None] | None = None,
    **env: str,
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
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3


def without_override() -> None:
    """preexec_fn: the child obeys file permissions even when the tests run as root (in a
    container), as any other user does: root's capabilities to ignore them are dropped."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
