"""Who this process is, for the leases of shared work (issue 12).

Work that several processes share on one PostgreSQL (deliveries, scan batches, web-preview
polls) is claimed by writing the claimant's name and a lease end into its row. The name must
differ between processes and between restarts of one process, so a restarted worker never
mistakes a lease of its former self for its own: host, pid and a random part.
"""

from __future__ import annotations

import os
import secrets
import socket


def new_holder() -> str:
    """A name for this process's claims: `host:pid:random`, at most 64 characters."""
    host = socket.gethostname()[:40] or "host"
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"
