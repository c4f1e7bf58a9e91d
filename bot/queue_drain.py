"""Working through a queue of posts a batch at a time: the near-duplicate index and the
search's lemma index are both filled this way by the scan job (one read and one write per
batch, each batch in its own transaction, so a crash leaves posts queued, never half done)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

Queued = Sequence[tuple[int, str | None]]  # (post id, its text; None: deleted since queued)


async def drain(
    read: Callable[[int], Awaitable[Queued]],
    index: Callable[[Queued], Awaitable[int]],
    batch: int,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Index queued posts (all of them, or at most max_batches batches); returns how many.
    progress, if given, is told the running count after each batch."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        queued = await read(batch)
        if not queued:
            break
        total += await index(queued)
        batches += 1
        if progress is not None:
            progress(total)
        if len(queued) < batch:
            break
    return total
