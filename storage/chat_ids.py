"""Chat ids for channels known only by their username (followed through the web preview).

The web preview shows a channel's username but not the numeric id the Bot API uses. Such a
channel gets a synthetic id below SYNTHETIC_ID_BASE. Bot API ids have at most 52 significant
bits (|id| < 2^52, as the Bot API documents), so a synthetic id can never equal a real one.
One home for the rule, below the storage that keeps these ids and the sources that make them.
"""

from __future__ import annotations

import hashlib

SYNTHETIC_ID_BASE = -(2**53)  # synthetic ids are SYNTHETIC_ID_BASE - (48-bit hash)


def is_synthetic(chat_id: int) -> bool:
    return chat_id <= SYNTHETIC_ID_BASE


def synthetic_chat_id(username: str) -> int:
    """A stable id for a channel known only by its username.

    SYNTHETIC_ID_BASE minus the first 48 bits of BLAKE2b(lowercase username): the same
    username always gives the same id, and no Bot API id (|id| < 2^52) can equal it.
    """
    digest = hashlib.blake2b(username.lower().encode("ascii"), digest_size=6).digest()
    return SYNTHETIC_ID_BASE - int.from_bytes(digest, "big")
