"""The command line imports only what the chosen command needs.

`framewatch scan` starts worker processes with "spawn" (bot/scan_pool.py); each imports
the parent's main module again (the `framewatch` script imports bot.cli) before it matches
anything. When bot.cli imported every command's dependencies (Datasette, networkx, numpy,
python-telegram-bot, ...) that cost each worker 0.7 s. These run a fresh interpreter and
look at sys.modules: a real check of what is imported, not a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli import PROJECT_ROOT

# What no command's parser needs; each is imported only by the handlers that use it.
HEAVY = (
    "asyncpg",
    "datasette",
    "httpx",
    "matplotlib",
    "networkx",
    "numpy",
    "pydantic",
    "pymorphy3",
    "rich",
    "scipy",
    "telegram",
)
# `framewatch scan` reads its settings (pydantic), draws progress bars (rich) and finds a
# batch's words with numpy (bot/rules/batch_words.py); the rest is for other commands
# (bot.context imports PTB and httpx only for type hints).
NOT_FOR_SCAN = tuple(name for name in HEAVY if name not in {"pydantic", "rich", "numpy"})


def _imported(code: str, cwd: Path, *watched: str) -> list[str]:
    """Run `code` in a fresh interpreter; which of `watched` it imported."""
    shown = f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{shown}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEWATCH_")}
    env.update(PYTHONPATH=str(PROJECT_ROOT), FRAMEWATCH_DB_PATH=str(cwd / "framewatch.db"))
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_parser_of_every_command_imports_nothing_heavy(tmp_path: Path) -> None:
    # Building the parser runs every command module's add_to, as `framewatch X` does.
    code = "import bot.cli\nbot.cli._parser()"
    assert _imported(code, tmp_path, *HEAVY) == []


def test_a_spawned_worker_importing_the_main_module_imports_no_command_line(
    tmp_path: Path,
) -> None:
    # What multiprocessing's spawn does with the parent's __main__ (python -m bot's file).
    main = PROJECT_ROOT / "bot" / "__main__.py"
    code = f"import runpy\nrunpy.run_path({str(main)!r}, run_name='__mp_main__')"
    assert _imported(code, tmp_path, "bot.cli", "bot.config", *HEAVY) == []


def test_scan_imports_what_scanning_needs_only(tmp_path: Path) -> None:
    code = "from bot.cli import main\nassert main(['scan']) == 0"
    assert _imported(code, tmp_path, *NOT_FOR_SCAN) == []
