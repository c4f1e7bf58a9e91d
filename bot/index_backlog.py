"""How many posts wait for the search and near-duplicate indexes (bot/indexing.py).

Apart from bot.indexing, which imports numpy and the lemmatiser to build the indexes:
`framewatch scan` reports the backlog without building anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.backend import Backend
from storage.lemma_index import LemmaIndexRepository
from storage.neardup import NearDupRepository


@dataclass(frozen=True, slots=True)
class Backlog:
    """Posts waiting for each index."""

    neardup: int
    lemmas: int

    @property
    def total(self) -> int:
        return max(self.neardup, self.lemmas)


async def backlog(db: Backend) -> Backlog:
    lemmas = await LemmaIndexRepository(db).progress()  # None: nothing queued
    return Backlog(await NearDupRepository(db).queue_size(), lemmas.queued if lemmas else 0)
