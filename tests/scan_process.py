"""A process that runs scan steps (bot.work_scan.work_step) until the backlog is gone, for
tests/test_work_scan_processes.py: `python -m tests.scan_process URL LEASE_SECONDS HANG_AT`.

It prints `holder NAME` first, then `claimed N` after each claim. At its HANG_AT-th claim
(0: never) it hangs right after claiming, so a test that reads that line and SIGKILLs it
kills a process holding a claim (the claim is committed before the line is printed). It
exits 0 once no post waits for a scan and no rescan is unfinished; while others hold what
is left, it waits and tries again (a killed process's claims lapse after the lease).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta

from bot.clock import utc_now
from bot.config import Settings
from bot.context import Services
from bot.scan import RulesCache
from bot.work_scan import Claimant, ScanWork, work_step
from storage.backend import Backend
from storage.db import open_backend
from storage.scan_claims import ScanClaims

BATCH = 25


class TellingClaims(ScanClaims):
    """Says what it claimed; hangs at its hang_at-th claim (0: never)."""

    def __init__(self, db: Backend, hang_at: int) -> None:
        super().__init__(db)
        self._hang_at = hang_at
        self._claims = 0

    async def claim_posts(
        self, holder: str, now: datetime, until: datetime, limit: int
    ) -> list[int]:
        ids = await super().claim_posts(holder, now, until, limit)
        if ids:
            self._claims += 1
            print(f"claimed {len(ids)}", flush=True)
            if self._claims == self._hang_at:
                await asyncio.Event().wait()  # until killed
        return ids


async def left(db: Backend) -> int:
    return int(
        await db.fetchval(
            "SELECT (SELECT count(*) FROM post_scan WHERE needs_scan = 1)"
            " + (SELECT count(*) FROM terms WHERE backfilled = 0)"
        )
    )


async def main(url: str, lease: float, hang_at: int) -> int:
    db = await open_backend(url)
    try:
        services = Services.create(Settings(_env_file=None, bot_token="1:T"), db, utc_now)
        claimant = Claimant(services.holder, timedelta(seconds=lease))
        print(f"holder {claimant.holder}", flush=True)
        work = ScanWork(
            services.framings,
            services.matches,
            TellingClaims(db, hang_at),
            RulesCache(),
            utc_now,
            claimant,
            BATCH,
        )
        while True:
            if await work_step(work):
                continue
            if not await left(db):
                return 0
            await asyncio.sleep(0.1)  # others hold the rest: their claims end or lapse
    finally:
        await db.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))))
