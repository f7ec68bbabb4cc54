"""`manage.py simulate_province` (issue 17): a tiny province seeded, every step measured through
the platform's own code against the real PostgreSQL and Redis, a plan printed from the figures,
and nothing left behind (no row in any table, no task in the broker). The plan's arithmetic on
figures of its own, and the delete that follows the database's foreign keys."""

import io
import json
import math

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from alarms.models import Alarm, AlarmState, DeviceMessage
from backend.accounts.models import District, Role, User
from backend.core.subtree import delete_with_dependents
from dispatch.models import Channel, ServiceRequest, ServiceType
from dispatch.services import service_request_create
from district import capacity, province
from elders.models import AlarmDevice, Elder

STEPS = {
    "intake": "web",
    "matching": "routine",
    "events feed": "web",
    "location update": "web",
    "map positions": "device",
    "push": "web",
    "alarm": "web",
    "alarm dispatch": "alarm",
    "alarm re-send": "alarm",
    "emergency matching": "urgent",
    "heartbeat": "web",
    "heartbeat apply": "device",
}


def _row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _broker_messages() -> int:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return sum(client.llen(queue) for queue in settings.ANXIN_QUEUES.values())


@pytest.mark.django_db(transaction=True)
def test_a_tiny_province_is_measured_planned_and_leaves_nothing(catalogue, monkeypatch, settings):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # each step's tasks go to the broker, as deployed
    before, queued = _row_counts(), _broker_messages()
    out = io.StringIO()

    call_command(
        "simulate_province",
        *("--districts", "2", "--scale", "0.002", "--operations", "6", "--sweep-repeat", "1"),
        "--json",
        stdout=out,
    )

    text = out.getvalue()
    result = json.loads(text.strip().splitlines()[-1])
    assert result["seeded"] == {
        "districts": 2,
        "elders": 240,  # 60,000 x 0.002 in each of two
        "workers": 12,  # 6 each: the least a district gets
        "providers": 4,
        "devices": 48,  # one per five elders
    }
    figures = {f["step"]: f for f in result["figures"]}
    assert {step: f["lane"] for step, f in figures.items()} == STEPS
    for step, f in figures.items():
        assert f["ops"] > 0 and f["wall_s"] > 0, step
    # Each step went through the platform's code, as the budgets in docs/performance.md say.
    assert figures["intake"]["ops"] == 6 and figures["intake"]["events"] == 6
    assert figures["intake"]["queries"] / 6 == pytest.approx(12, abs=2)
    assert figures["matching"]["events"] >= 6  # at least its offer's audit row each
    assert figures["alarm"]["ops"] == 6 and figures["alarm dispatch"]["ops"] == 6
    assert figures["emergency matching"]["ops"] == 6  # each dispatch made a work order
    # Matching made offers (not the cheaper path of finding nobody): every worker can answer
    # an emergency, and each district has one on shift at least.
    assert result["offered"]["emergency matching"] == 1.0 and result["offered"]["matching"] > 0
    # The feed's reads each caught up on something.
    assert " events a read" in figures["events feed"]["note"]
    assert not figures["events feed"]["note"].endswith(": 0.0 events a read")
    assert figures["heartbeat apply"]["queries"] > 0
    assert result["tasks_taken_back"] > 0
    assert result["redis_measured"]["bytes_per_membership"] > 0
    assert result["redis_measured"]["bytes_per_message"] > 0
    assert {s["name"] for s in result["sweeps"]} == {
        name for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if entry["schedule"] <= 60
    }
    plan = result["plan"]
    assert set(plan["lanes"]) == set(STEPS.values())
    assert all(lane["processes"] >= 1 for lane in plan["lanes"].values())
    assert plan["database"]["total_gb"] > 0 and plan["connections"]["total"] > 0
    assert "processes per queue" in text and "database after 1 year" in text
    # Nothing left: not a row in any table, not a task in the broker.
    assert _row_counts() == before
    assert _broker_messages() == queued


@pytest.mark.django_db
def test_it_refuses_while_a_worker_consumes_its_queues(monkeypatch, settings):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    routine = settings.ANXIN_QUEUES["routine"]
    monkeypatch.setattr(
        "district.management.commands.simulate_province.queue_consumers",
        lambda wanted, timeout: {"anxin-routine@host": {routine}},
    )

    with pytest.raises(CommandError, match="Celery workers consume this run's queues"):
        call_command("simulate_province", "--districts", "1")


@pytest.mark.django_db
def test_it_refuses_a_database_that_holds_other_districts(monkeypatch, settings):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    District.objects.create(code="220102000000", name="朝阳区")

    with pytest.raises(CommandError, match="holds 1 other districts"):
        call_command("simulate_province", "--districts", "1")
    with pytest.raises(CommandError, match="holds 1 other districts"):
        call_command("simulate_province", "--clear")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--districts", "0"], "--districts: 1 to 100"),
        (["--districts", "101"], "--districts: 1 to 100"),
        (["--scale", "0"], "--scale"),
        (["--operations", "0"], "--operations"),
        (["--sweep-repeat", "0"], "--sweep-repeat"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(monkeypatch, arguments, message):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    written = []
    monkeypatch.setattr(province, "clear", lambda: written.append("clear"))
    monkeypatch.setattr(province, "seed", lambda **kw: written.append("seed"))

    with pytest.raises(CommandError, match=message):
        call_command("simulate_province", *arguments)
    assert written == []


@pytest.mark.django_db
def test_it_refuses_to_text_through_twilio_or_to_lose_tasks_in_another_broker(
    monkeypatch, settings
):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.NOTIFICATION_BACKEND = "backend.telephony.twilio_backend.TwilioBackend"

    with pytest.raises(CommandError, match="Twilio"):
        call_command("simulate_province", "--districts", "1")

    settings.NOTIFICATION_BACKEND = "backend.telephony.backends.RecordingBackend"
    settings.CELERY_BROKER_URL = "amqp://127.0.0.1:5672//"
    with pytest.raises(CommandError, match="Redis broker only"):
        call_command("simulate_province", "--districts", "1")


@pytest.mark.django_db
def test_it_refuses_where_tasks_run_eagerly(monkeypatch, settings):
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "1")
    settings.CELERY_TASK_ALWAYS_EAGER = True

    with pytest.raises(CommandError, match="CELERY_TASK_ALWAYS_EAGER"):
        call_command("simulate_province", "--districts", "1")


@pytest.mark.django_db
def test_it_refuses_where_benchmarks_may_not_write(monkeypatch, settings):
    settings.DEBUG = False
    monkeypatch.setenv("ANXIN_BENCHMARK_ALLOWED", "")

    with pytest.raises(CommandError, match="never on production settings"):
        call_command("simulate_province", "--districts", "1")


# -- the delete along foreign keys ----------------------------------------------------------


@pytest.mark.django_db
def test_the_delete_follows_every_reference_and_leaves_other_districts():
    from tests.factories import ElderFactory

    mine, theirs = (
        District.objects.create(code="229899000000"),
        District.objects.create(code="229899000001"),
    )
    elder = ElderFactory(district=mine)
    kept = ElderFactory(district=theirs)
    device = AlarmDevice.objects.create(elder=elder, serial="S-1", kind="button")
    request = service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="emergency"),
        channel=Channel.ALARM,
        caller=None,
    )
    now = timezone.now()
    # An alarm and the work order it dispatched: rows of two tables that refer across.
    alarm = Alarm.objects.create(
        device=device,
        elder=elder,
        district=mine,
        kind="sos",
        state=AlarmState.OPEN,
        raised_at=now,
        received_at=now,
        last_press_at=now,
        ack_due_at=now,
        delay_s=0,
        late=False,
        request=request,
    )
    DeviceMessage.objects.create(
        device=device,
        event_id="00000000-0000-0000-0000-000000000001",
        kind="sos",
        at=now,
        received_at=now,
        delay_s=0,
        late=False,
        result="opened",
        alarm=alarm,
    )
    operator = User.objects.create(username="op-subtree", role=Role.OPERATOR, district=mine)

    deleted = delete_with_dependents({"accounts_district": ("code = %s", [mine.code])})

    assert deleted["accounts_district"] == 1 and deleted["elders_elder"] == 1
    assert not Elder.objects.filter(pk=elder.pk).exists()
    assert not AlarmDevice.objects.exists() and not DeviceMessage.objects.exists()
    assert not Alarm.objects.exists() and not ServiceRequest.objects.exists()
    assert not User.objects.filter(pk=operator.pk).exists()
    assert Elder.objects.filter(pk=kept.pk).exists() and District.objects.filter(pk=theirs.pk)
    assert ServiceType.objects.filter(code="emergency").exists()  # referred to, not referring


# -- the plan's arithmetic --------------------------------------------------------------------


def _figure(step: str, lane: str, wall_ms: float, cpu_ms: float, db_ms: float = 1.0) -> dict:
    return {
        "step": step,
        "lane": lane,
        "wall_ms": wall_ms,
        "cpu_ms": cpu_ms,
        "db_ms": db_ms,
        "redis_ms": 0.1,
    }


def test_the_peak_rates_follow_from_the_shape_and_the_load():
    shape, load = province.Shape(), capacity.Load()

    at = capacity.rates(shape, load)

    # 6 M elders x 2 a month / 30 days x 12 % in the busiest hour / 3,600 s
    assert at["intake"] == pytest.approx(6e6 * 2 / 30 * 0.12 / 3600)
    assert at["location update"] == pytest.approx(100_000 * 0.6 / 10)
    assert at["alarm"] == pytest.approx(5000 / 60)
    # every alarm open for ten minutes is re-sent every 30 s
    assert at["alarm re-send"] == pytest.approx(5000 * 10 / 30)
    assert at["heartbeat"] == pytest.approx(6e6 * 0.2 / 3600)


def test_processes_are_sized_by_wall_time_for_the_web_and_by_threads_or_the_gil_for_workers():
    shape, load = province.Shape(), capacity.Load()
    at = capacity.rates(shape, load)
    figures = [
        _figure("intake", "web", wall_ms=20, cpu_ms=10),
        _figure("matching", "routine", wall_ms=40, cpu_ms=5),  # waits: threads help
        _figure("emergency matching", "urgent", wall_ms=20, cpu_ms=18),  # the GIL binds
    ]

    plans = capacity.lanes(figures, shape, load)

    assert plans["web"].processes == math.ceil(at["intake"] * 0.020 / 0.6)
    assert plans["routine"].processes == math.ceil(at["matching"] * 0.040 / 4 / 0.6)
    assert plans["urgent"].processes == math.ceil(at["emergency matching"] * 0.018 / 0.6)


def test_a_sweep_that_cannot_finish_in_half_its_period_is_split_by_district():
    shape, load = province.Shape(), capacity.Load()
    at = capacity.rates(shape, load)
    figures = [
        _figure("alarm dispatch", "alarm", wall_ms=10, cpu_ms=8),
        _figure("alarm re-send", "alarm", wall_ms=1, cpu_ms=1),
    ]
    sweeps = [
        {"name": "alarms", "lane": "alarm", "period_s": 2.0, "median_s": 0.01},
        {"name": "sweep-urgent", "lane": "urgent", "period_s": 5.0, "median_s": 0.02},
    ]

    alarms, urgent = capacity.sweeps(sweeps, figures, shape, load)

    run = 0.01 + at["alarm dispatch"] * 2 * 0.010 + at["alarm re-send"] * 2 * 0.001
    assert alarms["province_s"] == pytest.approx(run, abs=0.01)
    # The re-sends due in one period outnumber what one run takes (200 a step): split by that.
    resends = at["alarm re-send"] * 2
    assert alarms["due_per_run"]["alarm re-send"] == round(resends)
    assert alarms["shards"] == max(math.ceil(run / 1.0), math.ceil(resends / 200)) > 1
    assert urgent["shards"] == 1 and urgent["due_per_run"] == {}


def test_the_database_is_sized_by_rows_times_measured_bytes():
    shape, load = province.Shape(), capacity.Load()
    sizes = {"dispatch_servicerequest": 500.0, "core_event": 400.0}
    events = {"intake": 1.0, "matching": 3.0}

    db = capacity.database(sizes, events, shape, load)

    requests = 6e6 * 2 * 12
    assert db["requests_a_year"] == requests
    assert db["events_per_request"] == pytest.approx(1 + 1.5 * 3 + 6)
    assert db["tables"]["dispatch_servicerequest"]["gb"] == pytest.approx(
        requests * 500 / 1e9, 0.01
    )
    assert db["tables"]["core_event"]["gb"] == pytest.approx(
        requests * (1 + 4.5 + 6) * 400 / 1e9, 0.01
    )


def test_a_split_sweep_has_a_thread_for_each_shard_and_names_its_setting():
    shape, load = province.Shape(), capacity.Load()
    figures = [
        _figure("alarm dispatch", "alarm", wall_ms=10, cpu_ms=1),
        _figure("alarm re-send", "alarm", wall_ms=5, cpu_ms=1),
    ]
    sweeps = [{"name": "alarms", "lane": "alarm", "period_s": 2.0, "median_s": 0.01}]

    plan = capacity.plan(
        figures=figures,
        sweep_figures=sweeps,
        sizes={},
        events_per={},
        redis={},
        shape=shape,
        load=load,
    )

    (alarms,) = plan["sweeps"]
    assert alarms["setting"] == "ANXIN_ALARM_SWEEP_SHARDS" and alarms["shards"] > 1
    lane = plan["lanes"]["alarm"]
    assert lane["processes"] * lane["threads"] >= alarms["shards"]
