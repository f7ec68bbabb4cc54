"""The load of `manage.py benchmark_alarms`, in a process of its own: signed alarms posted to
`POST /api/v1/alarms/` as devices post them (docs/alarms.md), each signed with its device's
secret at the moment it is sent.

Open loop: at `rate` per second the n-th alarm is due at start + n / rate whatever the answers
before it did, and goes on the first of `clients` keep-alive connections that is free; its
latency counts from when it was due, so a platform that falls behind shows it in the figures
instead of slowing the load down. `rate` 0 is closed loop: each connection sends its next alarm
as soon as its last was answered, as fast as the platform and `clients` allow.

Run by the command as `python -m alarms.management.alarm_load`: the plan (devices and their
secrets included) comes on standard input as JSON, the samples go to standard output as JSON.
Nothing here imports Django: the process only signs, sends and times.
"""

import asyncio
import json
import sys
import time
import uuid
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from alarms.protocol import HEADER_DEVICE, HEADER_SIGNATURE, HEADER_TIMESTAMP, signature

PATH = "/api/v1/alarms/"
# An answer slower than this is counted as a timeout (status 0), and its connection reopened.
ANSWER_TIMEOUT_S = 30.0
# After the last alarm is due, answers are awaited this long; the rest count as unanswered.
DRAIN_S = 3.0
NOT_SENT = "not_sent"


@dataclass(frozen=True)
class Plan:
    server: str
    rate: float  # alarms per second; 0: each connection as fast as it is answered
    seconds: float  # how long alarms are sent (the command's warm-up and measured window)
    clients: int
    devices: list[tuple[str, str]]  # (serial, secret), used in turn: the n-th alarm on n % len
    kind: str = "sos"


@dataclass
class Sample:
    """One alarm sent. Times are Unix seconds of this machine's clock, as the server's are."""

    device: int  # index into Plan.devices
    event_id: str
    due: float
    sent: float
    answered: float
    status: int  # 0: no answer (connection lost, timeout)
    received_at: float | None  # the server's `received_at` from a 202
    result: str  # opened / joined / recorded from a 202, else the error's code or name


def alarm_body(*, event_id: str, kind: str, at: datetime) -> bytes:
    return json.dumps(
        {"event_id": event_id, "kind": kind, "at": at.isoformat()}, separators=(",", ":")
    ).encode()


def signed_request(*, host: str, serial: str, secret: str, body: bytes, now: float) -> bytes:
    """The whole HTTP/1.1 request, signed over the exact body it carries."""
    timestamp = str(int(now))
    head = (
        f"POST {PATH} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{HEADER_DEVICE}: {serial}\r\n"
        f"{HEADER_TIMESTAMP}: {timestamp}\r\n"
        f"{HEADER_SIGNATURE}: {signature(secret, timestamp, body)}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 answer: its status, body and whether the connection stays open."""
    status_line = await reader.readuntil(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += (await reader.readexactly(size + 2))[:-2]
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
            pass
    else:
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, body, headers.get(b"connection", b"").lower() != b"close"


def answer_fields(status: int, body: bytes) -> tuple[float | None, str]:
    """`received_at` (Unix seconds) and the result of a 202; for a refusal, its code."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, f"http {status}"
    if status == 202:
        received = datetime.fromisoformat(data["received_at"].replace("Z", "+00:00"))
        return received.timestamp(), data["result"]
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return None, str(code or f"http {status}")


class Connection:
    """One keep-alive connection, reopened after an error or a `Connection: close`."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send and read the answer. A kept-alive connection the server closed while idle
        fails at once: the alarm goes again on a new one (a repeat of an event_id is harmless,
        the protocol says so)."""
        for fresh in (self.streams is None, True):
            if self.streams is None:
                self.streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.streams
            try:
                writer.write(request)
                status, body, keep = await asyncio.wait_for(read_answer(reader), ANSWER_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError) as exc:
                self.close()
                if fresh or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if not keep:
                self.close()
            return status, body
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class Load:
    def __init__(self, plan: Plan):
        self.plan = plan
        parts = urlsplit(plan.server)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.host_header = parts.netloc
        self.samples: list[Sample] = []
        self.sent = 0

    def _next(self) -> tuple[int, str, str, str]:
        n = self.sent
        self.sent += 1
        index = n % len(self.plan.devices)
        serial, secret = self.plan.devices[index]
        return index, serial, secret, str(uuid.uuid4())

    async def _send(self, conn: Connection, due: float | None) -> None:
        """Send the next alarm on `conn`; `due` None: it was due as it was sent."""
        index, serial, secret, event_id = self._next()
        sent = time.time()
        due = sent if due is None else due
        body = alarm_body(event_id=event_id, kind=self.plan.kind, at=datetime.now(UTC))
        request = signed_request(
            host=self.host_header, serial=serial, secret=secret, body=body, now=sent
        )
        status, received_at, result = 0, None, "unanswered"  # kept if the load ends first
        try:
            status, answer = await conn.exchange(request)
            received_at, result = answer_fields(status, answer)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            result = type(exc).__name__
        finally:
            self.samples.append(
                Sample(index, event_id, due, sent, time.time(), status, received_at, result)
            )

    async def run(self) -> dict[str, Any]:
        start = time.time()
        end = start + self.plan.seconds
        conns = [Connection(self.host, self.port) for _ in range(self.plan.clients)]
        if self.plan.rate > 0:
            tasks = await self._open_loop(conns, start, end)
        else:
            tasks = {asyncio.ensure_future(self._closed_loop(c, end)) for c in conns}
        # What is still waiting for its answer after DRAIN_S is counted unanswered: the command
        # cleans up soon after, and must find no request of the run still on its way in.
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(0.1, end + DRAIN_S - time.time()))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for conn in conns:
            conn.close()
        return {"start": start, "end": time.time(), "samples": [astuple(s) for s in self.samples]}

    async def _open_loop(
        self, conns: list[Connection], start: float, end: float
    ) -> set[asyncio.Future]:
        # The connection used last goes first: at a low rate few stay busy, and none idles
        # long enough for the server to close it.
        free: asyncio.LifoQueue[Connection] = asyncio.LifoQueue()
        for conn in conns:
            free.put_nowait(conn)
        total = int(self.plan.rate * self.plan.seconds)
        loop = asyncio.get_running_loop()
        # Due times are kept on the loop's monotonic clock, reported on the wall clock.
        mono0, pending = loop.time(), set()

        async def one(due: float) -> None:
            conn = await free.get()
            try:
                if time.time() >= end:  # every connection was busy until the load ended
                    now = time.time()
                    self.samples.append(Sample(-1, "", due, now, now, -1, None, NOT_SENT))
                    return
                await self._send(conn, due)
            finally:
                free.put_nowait(conn)

        for n in range(total):
            wait = mono0 + n / self.plan.rate - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            task = asyncio.ensure_future(one(start + n / self.plan.rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
        return set(pending)

    async def _closed_loop(self, conn: Connection, end: float) -> None:
        while time.time() < end:
            await self._send(conn, None)


def plan_from(data: dict[str, Any]) -> Plan:
    return Plan(
        server=data["server"],
        rate=float(data["rate"]),
        seconds=float(data["seconds"]),
        clients=int(data["clients"]),
        devices=[(serial, secret) for serial, secret in data["devices"]],
        kind=data.get("kind", "sos"),
    )


def main() -> None:
    load = Load(plan_from(json.load(sys.stdin)))
    try:
        import uvloop
    except ImportError:  # the standard loop does, a little slower
        out = asyncio.run(load.run())
    else:
        out = uvloop.run(load.run())
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
