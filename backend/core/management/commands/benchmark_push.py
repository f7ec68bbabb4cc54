"""Where a request thread's push should run inside the ASGI server: on the server's own event
loop (known to the threads `sync_to_async` starts) or on the process's push loop, a thread of
its own (backend/core/push_loop.py). Measures, against the real Redis channel layer:

- the push as the request thread sees it (pushes/s, p50, p99), `--clients` threads pushing at
  once, each a push to two groups as `event_record` makes them;
- the server loop's lag (how late a 1 ms timer fires on it): what the pushes cost the other
  work of that loop, the sockets it serves;

with the server loop idle, and busy (20 consumers of the district group receiving every push,
and work that holds the loop about half the time, as HTTP and socket traffic would).
"""

import asyncio
import contextlib
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.core.management.base import BaseCommand

from backend.core.events import PUSH_TIMEOUT_S, _send_all
from backend.core.push_loop import push_loop, run_on, server_loop

ENVELOPE = {"id": 1, "type": "request.offered", "data": {"reference": "x" * 200}}


class Command(BaseCommand):
    help = "Push latency and server-loop lag: pushes on the server loop or on the push loop."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--pushes", type=int, default=150, help="per client")
        parser.add_argument("--runs", type=int, default=3)

    def handle(self, *args, **options):
        for busy in (False, True):
            for mode in ("server", "push"):
                for _ in range(options["runs"]):
                    line = asyncio.run(_run(mode, busy, options["clients"], options["pushes"]))
                    self.stdout.write(line)


async def _run(mode: str, busy: bool, clients: int, pushes: int) -> str:
    # A layer of its own per run: channels_redis binds a receiving channel's locks to the loop
    # that first used them, and every run is a new server loop.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    tag = uuid.uuid4().hex[:8]
    groups = [f"bench-{tag}.district", f"bench-{tag}.user"]
    message = {"type": "event.push", "envelope": ENVELOPE}
    stop = asyncio.Event()
    lags: list[float] = []

    async def consumer() -> None:
        channel = await layer.new_channel()
        await layer.group_add(groups[0], channel)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), 0.5)
        await layer.group_discard(groups[0], channel)

    async def other_work() -> None:  # holds the loop about half the time
        while not stop.is_set():
            started = time.perf_counter()
            while time.perf_counter() - started < 0.002:
                pass
            await asyncio.sleep(0.002)

    async def probe() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started - 0.001)

    tasks = [asyncio.create_task(probe())]
    if busy:
        tasks += [asyncio.create_task(consumer()) for _ in range(20)]
        tasks.append(asyncio.create_task(other_work()))
        await asyncio.sleep(0.5)

    def client() -> list[float]:
        loop = server_loop() if mode == "server" else push_loop()
        assert loop is not None, "a thread sync_to_async started knows the server loop"
        took = []
        for _ in range(pushes):
            started = time.perf_counter()
            run_on(loop, _send_all(layer, groups, message, {}), timeout=PUSH_TIMEOUT_S)
            took.append(time.perf_counter() - started)
        return took

    started = time.perf_counter()
    results = await asyncio.gather(
        *(sync_to_async(client, thread_sensitive=False)() for _ in range(clients))
    )
    wall = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks[1:])
    tasks[0].cancel()
    took = sorted(t for result in results for t in result)
    return (
        f"{mode:>6} loop, server loop {'busy' if busy else 'idle'}: "
        f"{len(took) / wall:5.0f} pushes/s, p50 {_ms(took, 0.5)}, p99 {_ms(took, 0.99)}; "
        f"server loop lag p50 {_ms(sorted(lags), 0.5)}, p99 {_ms(sorted(lags), 0.99)}"
    )


def _ms(ordered: list[Any], share: float) -> str:
    return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000:5.2f} ms"
