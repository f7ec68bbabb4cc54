"""`manage.py benchmark_alarms`, its parts that need no running platform: the load process's
signing (the real endpoint takes what it sends), its HTTP reading, its open and closed loops
against a small local server, the figures from samples, the socket's bookkeeping, the run's
time limit, and the clean-up leaving nothing of a run (a dispatched request included) while
keeping everything else."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alarms.management import alarm_load
from alarms.management.alarm_load import Load, Plan, Sample, answer_fields, read_answer
from alarms.management.commands.benchmark_alarms import (
    SERIAL_PREFIX,
    SocketWatch,
    bench_clear,
    bench_prepare,
    devices_needed,
    figures,
)
from alarms.models import Alarm, DeviceMessage
from alarms.services import (
    MessageIn,
    alarm_dispatch_overdue,
    alarm_resend,
    device_message_take,
    device_refusal_report,
)
from backend.accounts.models import User
from backend.core.models import Event, WebSocketTicket
from backend.core.tickets import ws_ticket_issue
from backend.telephony.models import Notification
from dispatch.models import JobOffer, OperatorAlert, ServiceRequest
from elders.models import AccessGrant, AlarmDevice
from elders.services import device_register
from tests import factories as f

# --- the load's requests -----------------------------------------------------------------------


def _parse(request: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    return {k: v.strip() for k, v in (line.split(":", 1) for line in lines)}, body


@pytest.mark.django_db
def test_an_alarm_signed_by_the_load_is_taken_by_the_endpoint(district, elder, client):
    prepared = bench_prepare(district=district, devices=1, run="sig")
    serial, secret = prepared.devices[0]
    body = alarm_load.alarm_body(event_id=str(uuid.uuid4()), kind="sos", at=datetime.now(UTC))
    request = alarm_load.signed_request(
        host="127.0.0.1:8000",
        serial=serial,
        secret=secret,
        body=body,
        now=timezone.now().timestamp(),
    )
    headers, sent = _parse(request)

    answer = client.post(
        "/api/v1/alarms/",
        data=sent,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k.startswith("X-Anxin-")},
    )

    assert int(headers["Content-Length"]) == len(sent) and sent == body
    assert answer.status_code == 202, answer.content
    received_at, result = answer_fields(202, answer.content)
    assert result == "opened"
    assert received_at == pytest.approx(Alarm.objects.get().received_at.timestamp(), abs=1e-3)


def test_a_refusal_gives_its_code_and_a_body_that_is_not_json_its_status():
    assert answer_fields(401, b'{"error": {"code": "bad_signature"}}') == (None, "bad_signature")
    assert answer_fields(502, b"<html>bad gateway</html>") == (None, "http 502")


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_answers_are_read_with_a_length_chunked_and_with_connection_close():
    async def both():
        sized = await read_answer(
            _reader(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 ...")
        )
        chunked = await read_answer(
            _reader(
                b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            )
        )
        return sized, chunked

    sized, chunked = asyncio.run(both())

    assert sized == (202, b"{}", True)
    assert chunked == (401, b"abcde", False)


# --- the load's loops, against a small local server ---------------------------------------------


async def _serve(*, delay: float = 0.0, close_after_each: bool = False):
    """An HTTP server answering every request 202 with a `received_at`, after `delay`; with
    `close_after_each` it closes the connection after each answer without saying so."""
    accepted = []

    async def handle(reader, writer):
        accepted.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                await asyncio.sleep(delay)
                body = json.dumps(
                    {"received_at": datetime.now(UTC).isoformat(), "result": "opened"}
                ).encode()
                writer.write(
                    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                if close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", accepted


DEVICES = [(f"{SERIAL_PREFIX}t-{i}", "s" * 64) for i in range(5)]


def _run(server_factory, **plan) -> tuple[dict, list]:
    async def go():
        server, url, accepted = await server_factory()
        try:
            return await Load(Plan(server=url, devices=DEVICES, **plan)).run(), accepted
        finally:
            await asyncio.sleep(0.05)  # the handlers see the load's connections close
            server.close()

    return asyncio.run(go())


def test_the_open_loop_sends_each_alarm_when_due_on_devices_in_turn():
    out, _ = _run(_serve, rate=100, seconds=0.3, clients=4)
    samples = sorted((Sample(*row) for row in out["samples"]), key=lambda s: s.due)

    assert len(samples) == 30
    assert all(s.status == 202 and s.result == "opened" for s in samples)
    gaps = [b.due - a.due for a, b in zip(samples, samples[1:], strict=False)]
    assert all(abs(gap - 0.01) < 1e-6 for gap in gaps)
    assert all(s.sent >= s.due - 0.002 and s.answered >= s.sent for s in samples)
    assert sorted(s.device for s in samples)[:6] == [0, 0, 0, 0, 0, 0]
    assert len({s.event_id for s in samples}) == 30


def test_a_connection_the_server_closed_while_idle_is_reopened_and_the_alarm_goes_again():
    out, accepted = _run(lambda: _serve(close_after_each=True), rate=50, seconds=0.2, clients=1)
    samples = [Sample(*row) for row in out["samples"]]

    assert len(samples) == 10 and all(s.status == 202 for s in samples)
    assert len(accepted) == 10  # one connection per alarm: each reopened after the close


def test_when_every_connection_is_busy_until_the_end_the_rest_are_counted_not_sent(monkeypatch):
    monkeypatch.setattr(alarm_load, "DRAIN_S", 1.0)
    out, _ = _run(lambda: _serve(delay=0.5), rate=50, seconds=0.2, clients=1)
    samples = [Sample(*row) for row in out["samples"]]

    assert [s.status for s in samples].count(202) == 1
    assert [s.result for s in samples].count(alarm_load.NOT_SENT) == 9


def test_an_answer_still_awaited_after_the_drain_is_counted_unanswered(monkeypatch):
    monkeypatch.setattr(alarm_load, "DRAIN_S", 0.1)
    out, _ = _run(lambda: _serve(delay=5), rate=10, seconds=0.1, clients=1)

    assert [(s[5], s[7]) for s in out["samples"]] == [(0, "unanswered")]


def test_the_closed_loop_sends_as_fast_as_it_is_answered():
    out, _ = _run(_serve, rate=0, seconds=0.2, clients=2)
    samples = [Sample(*row) for row in out["samples"]]

    assert len(samples) > 20
    assert all(s.due == s.sent and s.status == 202 for s in samples)


# --- figures --------------------------------------------------------------------------------


def _sample(n: int, due: float, *, took: float = 0.01, status: int = 202, result="opened"):
    return Sample(n, f"e{n}", due, due, due + took, status, due + 0.002, result)


def test_figures_count_the_window_only_and_take_percentiles_by_nearest_rank():
    start = 1000.0
    samples = [_sample(0, start + 0.5, took=5.0)]  # warm-up: left out of the window
    samples += [_sample(n, start + 1 + n / 100, took=n / 1000) for n in range(1, 101)]
    samples += [_sample(200, start + 1.5, status=401, result="bad_signature")]
    samples += [Sample(-1, "", start + 1.9, start + 3, start + 3, -1, None, "not_sent")]
    kept = {s.event_id: s.due + 0.002 for s in samples if s.status == 202}
    seen = {e: r + 0.020 for e, r in kept.items() if e != "e7"}

    got = figures(samples=samples, kept=kept, seen=seen, start=start, warmup=1, duration=2)

    assert got["due_in_window"] == 102 and got["sent"] == 102
    assert got["accepted_per_s"] == 50.0  # 100 answered 2xx in 2 s
    assert got["answer_p50_ms"] == pytest.approx(50) and got["answer_p99_ms"] == pytest.approx(99)
    assert got["answer_max_ms"] == pytest.approx(100)
    assert got["socket_in_window"] == 99 and got["socket_p99_ms"] == pytest.approx(20)
    assert got["never_seen"] == 1 and got["kept"] == 101
    assert got["errors"] == {"401 bad_signature": 1, "not_sent": 1}
    assert got["opened"] == 101


def test_the_socket_keeps_each_alarms_first_arrival_and_counts_the_repeats():
    watch = SocketWatch("ws://unused")
    raised = {"type": "alarm.raised", "data": {"event_id": "a"}}

    watch.record(raised, 1.0)
    watch.record(raised, 2.0)
    watch.record({"type": "alarm.pressed", "data": {"event_id": "b"}}, 3.0)
    watch.record({"type": "elder.alarmdevice_added", "data": {"event_id": "c"}}, 4.0)

    assert watch.first_seen == {"a": 1.0, "b": 3.0} and watch.repeats == 1


def test_devices_are_one_per_alarm_unless_given():
    assert devices_needed(rate=300, seconds=17, given=None) == 5212
    assert devices_needed(rate=0, seconds=10, given=50) == 50


# --- the command's guards ---------------------------------------------------------------------


def test_a_run_that_would_outlast_the_first_resend_is_refused(monkeypatch, db):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")

    with pytest.raises(CommandError, match="shorten the run by 10 s"):
        call_command("benchmark_alarms", "--duration", "25")
    assert not AlarmDevice.objects.exists()


def test_it_refuses_settings_that_do_not_allow_it(db):
    with pytest.raises(CommandError, match="ANXIN_BENCHMARK_ALLOWED"):
        call_command("benchmark_alarms")


# --- cleaning up --------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    """Rows of every model a run touches, and of every model that points at a device or an
    alarm (what other parts of the platform hang on them)."""
    models = {
        AlarmDevice,
        Alarm,
        Event,
        User,
        WebSocketTicket,
        ServiceRequest,
        JobOffer,
        OperatorAlert,
        Notification,
        AccessGrant,
    }
    for model in (AlarmDevice, Alarm):
        models |= {r.related_model for r in model._meta.related_objects if not r.many_to_many}
    return {m.__name__: m._base_manager.count() for m in models}


def _take(device_id: int, kind: str = "sos") -> DeviceMessage:
    now = timezone.now()
    message = MessageIn(event_id=uuid.uuid4(), kind=kind, at=now, location=None, battery=20)
    return device_message_take(device_id=device_id, message=message, received_at=now)


def _due(alarm_id: int) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Alarm.objects.filter(pk=alarm_id).update(resend_at=past, dispatch_due_at=past)


@pytest.mark.django_db
def test_the_clean_up_leaves_nothing_of_a_run_and_keeps_everything_else(
    district, elder, operator, family, django_capture_on_commit_callbacks
):
    theirs, _ = device_register(elder=elder, actor=operator, fields={"serial": "BTN-0001"})
    kept_alarm = _take(theirs.pk).alarm_id
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        prepared = bench_prepare(district=district, devices=3, run="clean")
        ws_ticket_issue(user=prepared.operator)
        first = _take(prepared.device_ids[0])
        _take(prepared.device_ids[0])  # joins
        second = _take(prepared.device_ids[1])
        _take(prepared.device_ids[2], "low_battery")
        device_refusal_report(
            device_id=prepared.device_ids[2], reason="bad_signature", at=timezone.now()
        )
        _due(first.alarm_id)
        _due(second.alarm_id)
        assert alarm_resend(alarm_id=first.alarm_id)
        assert alarm_dispatch_overdue(alarm_id=second.alarm_id)  # the family is texted
    assert Notification.objects.count() > before["Notification"]
    assert ServiceRequest.objects.count() == before["ServiceRequest"] + 1

    cleared = bench_clear()

    assert _counts() == before
    assert cleared == {
        "devices": 3,
        "alarms": 2,
        "events": cleared["events"],
        "resent_undone": 1,
        "requests_undone": 1,
        "users": 1,
    }
    assert Alarm.objects.filter(pk=kept_alarm).exists()
    assert Event.objects.filter(subject_type="alarm", subject_id=kept_alarm).exists()
    assert Event.objects.filter(kind="elder.alarmdevice_added", data__id=theirs.pk).exists()


@pytest.mark.django_db
def test_a_device_another_elder_event_names_by_the_same_id_keeps_that_event(
    district, elder, operator
):
    prepared = bench_prepare(district=district, devices=1, run="ids")
    contact = f.ContactFactory(elder=elder, priority=2)
    theirs = Event.objects.create(
        kind="elder.contact_added",
        subject_type="elder",
        subject_id=elder.pk,
        district=district,
        data={"id": prepared.device_ids[0]},
    )

    bench_clear()

    assert Event.objects.filter(pk=theirs.pk).exists() and contact.pk
