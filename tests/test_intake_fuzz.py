"""Property: whatever JSON arrives as an update, the intake keeps handling the next ones.

Valid payloads of every kind FrameWatch receives are mutated (a field removed, or replaced
by arbitrary JSON), plus arbitrary update objects and bare elements without an update_id.
After each, a /start from a user must be answered in the same round, and within
MAX_ATTEMPTS rounds nothing is left pending: every row is processed or quarantined."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.inbox import MAX_ATTEMPTS
from tests.conftest import STRANGER, Harness
from tests.fake_telegram import (
    channel_post,
    forwarded_channel_post,
    my_chat_member,
    private_message,
)

CHANNEL = -1001000000009
SEEDS = [
    channel_post(CHANNEL, 1, "жест доброй воли"),
    channel_post(CHANNEL, 1, "edited", edited=True),
    channel_post(CHANNEL, 2, caption="a caption"),
    private_message(7, "/search жест"),
    forwarded_channel_post(7, CHANNEL, 3, "forwarded"),
    my_chat_member(CHANNEL, "Channel", "chan"),
]
UPDATE_FIELDS = ["message", "channel_post", "edited_channel_post", "my_chat_member", "poll"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a payload."""
    found = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    payload = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    path = draw(st.sampled_from(paths(payload)))
    parent: Any = payload
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return payload


updates = mutated() | st.dictionaries(
    st.sampled_from(UPDATE_FIELDS) | st.text(max_size=8), json_values, max_size=3
).filter(lambda d: "update_id" not in d)
raw_elements = json_values | st.dictionaries(
    st.just("update_id"), st.text(max_size=3) | st.floats() | st.none(), min_size=1
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=updates, raw=st.none() | raw_elements)
async def test_any_update_json_never_stops_the_intake(
    harness: Harness, payload: dict[str, Any], raw: Any
) -> None:
    harness.tg.push_update(payload)
    if raw is not None:
        harness.tg.push_raw(raw)
    before = len(harness.tg.sent_to(STRANGER))
    await harness.push(private_message(STRANGER, "/start"))
    assert len(harness.tg.sent_to(STRANGER)) == before + 1
    for _ in range(MAX_ATTEMPTS):
        await harness.poll()
    assert (await harness.services.inbox.counts()).pending == 0
    assert harness.tg.pending_updates() == []
