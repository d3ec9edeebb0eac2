"""Calling the engine's blocking verbs from the event loop: each in a worker thread with an
:class:`~stdc.engine.Engine` of its own (an engine's SQLite connection belongs to one thread).

Short calls share one pool; streams that may last (``logs -f``, ``attach``, ``events``,
``wait``) take a thread of a second, larger pool, so they never starve a ``ps``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from stdc.config import Config
    from stdc.engine import Engine

T = TypeVar("T")
_DONE = object()


def _trim_heap() -> None:
    """``malloc_trim(0)``: glibc keeps freed heap pages otherwise, and the process's RSS with them."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


class IdlePool(Executor):
    """A thread pool whose threads end after ``idle`` seconds without work (``ThreadPoolExecutor``'s
    never do): a burst of clients leaves no threads, engines or open databases behind it."""

    def __init__(self, max_workers: int, name: str, idle: float, on_exit: Callable[[], None]) -> None:
        self._max, self._name, self._idle_seconds, self._on_exit = max_workers, name, idle, on_exit
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(*args, **kwargs)`` in a thread of the pool (a new one if none is idle)."""
        future: Future[T] = Future()
        self._queue.put((future, fn, args, kwargs))
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            if self._idle == 0 and self._threads < self._max:
                self._threads += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._threads}", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                item = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                item = None
            with self._lock:
                self._idle -= 1
                # a task put while this thread was timing out is taken, not left without a thread
                if item is None and (self._closed or self._queue.empty()):
                    self._threads -= 1
                    break
            if item is None:
                continue
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as e:  # noqa: BLE001 - handed to the caller
                    future.set_exception(e)
            del item, future, fn, args, kwargs
        self._on_exit()

    def threads(self) -> int:
        """How many threads the pool has now."""
        with self._lock:
            return self._threads

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; idle threads end at their next timeout."""
        with self._lock:
            self._closed = True


class Workers:
    """The thread pools and the per-thread engines of one API server."""

    def __init__(self, config: Config, calls: int = 16, streams: int = 512, idle: float = 5) -> None:
        self.config = config
        self._local = threading.local()
        #: the engines of live threads; building one and forgetting the last take the lock
        self._engines = 0
        self._engines_lock = threading.Lock()
        self._calls = IdlePool(calls, "api-call", idle, self._forget_engine)
        self._streams = IdlePool(streams, "api-stream", idle, self._forget_engine)

    def _forget_engine(self) -> None:
        """At a thread's end: close its engine's database; once no worker is left, hand the
        memory a burst of clients needed back to the system."""
        engine = getattr(self._local, "engine", None)
        if engine is not None:
            engine.close()
            self._local.engine = None
            with self._engines_lock:
                self._engines -= 1
                if self._engines == 0:
                    from stdc.engine import reconcile

                    reconcile.done()
        if self._calls.threads() + self._streams.threads() <= 1:  # this thread is the last
            _trim_heap()

    def engine(self) -> Engine:
        """This thread's engine (made on its first use).

        Building one reconciles what a killed command left (:func:`stdc.engine.reconcile.quick`,
        as every CLI command does), which also leaves this process's marker in the root while
        any thread has an engine: the marker goes (``reconcile.done``) with the last engine, so
        a daemon killed in the middle of a verb has the next command reconcile. One thread
        builds at a time: two reconciliations never run side by side."""
        engine = getattr(self._local, "engine", None)
        if engine is None:
            from stdc.engine import Engine, reconcile

            with self._engines_lock:
                engine = self._local.engine = Engine(self.config)
                self._engines += 1
                reconcile.quick(engine)
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
        self._calls.shutdown(wait=False)
        self._streams.shutdown(wait=False)
