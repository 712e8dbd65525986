"""Batches of what has arrived: no waiting for a batch to fill, order kept, at most the
maximum, and a failing source ends the batches with its error."""

import asyncio

import pytest

from services.eventing.batches import arrived_batches


async def _trickle(items, gap_s: float = 0.0, fail_with: Exception | None = None):
    for item in items:
        if gap_s:
            await asyncio.sleep(gap_s)
        yield item
    if fail_with:
        raise fail_with


async def _collect(source, max_size: int, expected: int) -> list[list]:
    out: list[list] = []
    async for batch in arrived_batches(source, max_size):
        out.append(batch)
        await asyncio.sleep(0.01)  # handling takes a while: more arrives meanwhile
        if sum(map(len, out)) >= expected:
            break
    return out


async def test_what_arrived_while_a_batch_was_handled_comes_as_one_batch_in_order():
    batches = await asyncio.wait_for(_collect(_trickle(range(10)), 4, 10), 5)
    assert [x for b in batches for x in b] == list(range(10))
    assert all(len(b) <= 4 for b in batches)
    assert max(map(len, batches)) == 4, "items waiting are taken together"


async def test_a_lone_item_is_handed_over_at_once():
    async def one_then_silence():
        yield "only"
        await asyncio.sleep(3600)
        yield "never"

    gen = arrived_batches(one_then_silence(), 100)
    assert await asyncio.wait_for(gen.__anext__(), 1) == ["only"], "no waiting for the batch to fill"
    await gen.aclose()


async def test_a_failing_source_hands_over_what_arrived_then_raises():
    seen = []
    with pytest.raises(RuntimeError, match="broker gone"):  # noqa: PT012  what arrives before the error is the point
        async for batch in arrived_batches(_trickle([1, 2, 3], fail_with=RuntimeError("broker gone")), 10):
            seen += batch
    assert seen == [1, 2, 3]
