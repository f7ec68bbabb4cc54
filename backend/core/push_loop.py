"""Where a push to the channel layer runs when synchronous code sends it.

`async_to_sync` outside a running loop (a Celery task, a management command) makes a new event
loop for every call, and channels_redis keeps its connection pools per loop: every push opened a
connection and closed it again. Here:

- inside the ASGI server (a request's thread, started from the server's loop by
  `sync_to_async`), the push runs on the server's own loop, with the pool its sockets use;
- anywhere else, on one long-lived loop per process, on a daemon thread of its own started on
  first use: the layer keeps one pool for the life of the process.

Measured (`manage.py benchmark_push`, docs/performance.md): under load a push thread beside the
server's loop competes with it for the interpreter and doubles that loop's tail lag, which every
socket and request of the process waits on; on the server loop the push is one more task.

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

from asgiref.sync import SyncToAsync


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


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's loop, if this thread runs synchronous code for it: asgiref records it
    for the threads `sync_to_async` starts, and hands `async_to_sync` calls there the same way.
    None anywhere else (or should asgiref stop recording it: the push loop serves then)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    if isinstance(loop, asyncio.AbstractEventLoop) and pid == os.getpid() and loop.is_running():
        return loop
    return None


def run_push(coroutine: Coroutine[Any, Any, None], *, timeout: float) -> None:
    """Run `coroutine` on the server's loop (inside the ASGI server) or the push loop, and wait
    for it at most `timeout` seconds."""
    run_on(server_loop() or push_loop(), coroutine, timeout=timeout)


def run_on(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, None], *, timeout: float
) -> None:
    """Run `coroutine` on `loop`, another thread's, and wait for it at most `timeout` seconds.

    Raises what the coroutine raised, or TimeoutError once `timeout` passed (the coroutine is
    then cancelled). From synchronous code only: on a thread running an event loop it refuses
    with RuntimeError rather than block that loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError("a push from async code: await the layer instead")
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no answer within {timeout} s") from None
