"""Batches of what has already arrived: wait for one item, then take whatever else is
waiting (up to a maximum) without waiting for more, so batching adds no latency when
traffic is light and saves a transaction per message when it is heavy."""

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


async def arrived_batches(source: AsyncIterable[T], max_size: int) -> AsyncIterator[list[T]]:
    """A reader task fills a queue of ``max_size`` (so at most that many items are held
    beyond the batch being handled); the caller gets them in order, in batches."""
    queue: asyncio.Queue = asyncio.Queue(max_size)
    failure: list[BaseException] = []

    async def read() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            failure.append(exc)
        await queue.put(_END)

    reader = asyncio.create_task(read(), name="arrived-batches-reader")
    try:
        while True:
            batch = [await queue.get()]
            while len(batch) < max_size and not queue.empty():
                batch.append(queue.get_nowait())
            if _END in batch:
                if items := batch[:batch.index(_END)]:
                    yield items
                if failure:
                    raise failure[0]
                return
            yield batch
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
