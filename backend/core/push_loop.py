"""One event loop per process for pushes to the channel layer from synchronous code.

`async_to_sync` outside a running loop (a Celery task, a management command) makes a new event
loop for every call, and channels_redis keeps its connection pools per loop: every push opened a
connection and closed it again. Here one long-lived loop runs on a daemon thread of its own,
started on first use, and every push is submitted to it: the layer keeps one pool per process.

Fork-safe: threads do not survive a fork, so a child (a Celery prefork child) forgets the
parent's loop and starts its own on its first push; the owner's pid is checked as well, for a
fork that bypassed `os.fork`'s hooks.
"""

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any


class _PushLoop:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="channel-layer-push", daemon=True
        )
        self.thread.start()

    def usable(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive() and not self.loop.is_closed()


_lock = threading.Lock()
_current: _PushLoop | None = None


def push_loop() -> asyncio.AbstractEventLoop:
    """This process's push loop, started on first use (and again in a forked child)."""
    global _current
    current = _current
    if current is not None and current.usable():
        return current.loop
    with _lock:
        if _current is None or not _current.usable():
            _current = _PushLoop()
        return _current.loop


def _forget_after_fork() -> None:
    """In a forked child: the parent's loop thread is not there, and its lock may be held."""
    global _lock, _current
    _lock = threading.Lock()
    _current = None


os.register_at_fork(after_in_child=_forget_after_fork)


def run_on_push_loop(coroutine: Coroutine[Any, Any, None], *, timeout: float) -> None:
    """Run `coroutine` on the push loop and wait for it at most `timeout` seconds.

    Raises what the coroutine raised, or TimeoutError once `timeout` passed (the coroutine is
    then cancelled). From synchronous code only: on a thread running an event loop (the push
    loop's own included) it refuses with RuntimeError rather than block that loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError("run_on_push_loop is for synchronous code; await the coroutine instead")
    future = asyncio.run_coroutine_threadsafe(coroutine, push_loop())
    try:
        future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no answer within {timeout} s") from None
