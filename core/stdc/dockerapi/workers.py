"""Calling the engine's blocking verbs from the event loop: each in a worker thread with an
:class:`~stdc.engine.Engine` of its own (an engine's SQLite connection belongs to one thread).

Short calls share one pool; streams that may last (``logs -f``, ``attach``, ``events``,
``wait``) take a thread of a second, larger pool, so they never starve a ``ps``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from stdc.config import Config
    from stdc.engine import Engine

T = TypeVar("T")
_DONE = object()


class Workers:
    """The thread pools and the per-thread engines of one API server."""

    def __init__(self, config: Config, calls: int = 16, streams: int = 512) -> None:
        self.config = config
        self._local = threading.local()
        self._calls = ThreadPoolExecutor(calls, thread_name_prefix="api-call")
        self._streams = ThreadPoolExecutor(streams, thread_name_prefix="api-stream")

    def engine(self) -> Engine:
        """This thread's engine (made on its first use)."""
        engine = getattr(self._local, "engine", None)
        if engine is None:
            from stdc.engine import Engine

            engine = self._local.engine = Engine(self.config)
        return engine

    async def call(self, verb: Callable[..., T], *args: Any, long: bool = False, **kwargs: Any) -> T:
        """``verb(engine, *args, **kwargs)`` in a worker thread; ``long``: in the streams' pool."""
        loop = asyncio.get_running_loop()
        pool = self._streams if long else self._calls
        return await loop.run_in_executor(pool, lambda: verb(self.engine(), *args, **kwargs))

    async def run(self, work: Callable[[], T], long: bool = True) -> T:
        """Any blocking ``work`` in a worker thread (by default in the streams' pool)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._streams if long else self._calls, work)

    async def iterate(self, produce: Callable[[Engine], Iterator[T]]) -> AsyncIterator[T]:
        """The items of a blocking iterator made by ``produce(engine)`` in a stream thread; when
        the consumer stops early the iterator is closed in its thread at its next item."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
        stopped = threading.Event()

        def pump() -> None:
            try:
                items = produce(self.engine())
                try:
                    for item in items:
                        if stopped.is_set():
                            break
                        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
                finally:
                    close = getattr(items, "close", None)
                    if close is not None:
                        close()
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                if not stopped.is_set():
                    asyncio.run_coroutine_threadsafe(queue.put(e), loop).result()
                return
            if not stopped.is_set():
                asyncio.run_coroutine_threadsafe(queue.put(_DONE), loop).result()

        future = loop.run_in_executor(self._streams, pump)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stopped.set()
            while not queue.empty():  # unblock a pump waiting to put
                queue.get_nowait()
            if future.done():
                future.result()

    def shutdown(self) -> None:
        """Stop taking work; threads still streaming end with their clients."""
        self._calls.shutdown(wait=False, cancel_futures=True)
        self._streams.shutdown(wait=False, cancel_futures=True)
