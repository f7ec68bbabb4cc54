"""The alarm figures per local day: alarms built at known times (seen, acknowledged, dispatched
by an operator and by the platform, someone on site through a real visit, closed), and the
numbers PostgreSQL gives back checked exactly; days are Asia/Shanghai days, another district's
alarms are left out, a family member is refused, and the reads are a fixed number of queries."""

import json
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.figures import alarm_figures
from alarms.models import Alarm
from alarms.services import MessageIn, alarm_dispatch_overdue, alarms_shown, device_message_take
from dispatch.models import JobOffer, ServiceRequest, Visit
from elders.models import AlarmDevice
from tests import factories as f
from tests.conftest import api

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ON_THE_DOORSTEP = {"location": {"type": "Point", "coordinates": list(f.HOME)}}


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=SHANGHAI)


def received(elder, kind: str, at: datetime, *, late_s: int = 0) -> Alarm:
    """An alarm of a device of its own, received at `at` (sent `late_s` after it happened)."""
    device = AlarmDevice.objects.create(elder=elder, serial=f"DEV-{uuid.uuid4().hex[:8]}")
    message = MessageIn(
        event_id=uuid.uuid4(),
        kind=kind,
        at=at - timedelta(seconds=late_s),
        location=None,
        battery=None,
    )
    taken = device_message_take(device_id=device.pk, message=message, received_at=at)
    assert taken.alarm is not None
    return taken.alarm


def seen(alarm: Alarm, after_s: float) -> None:
    alarms_shown(alarm_ids=[alarm.pk], at=alarm.received_at + timedelta(seconds=after_s))


def acknowledged(alarm: Alarm, user, after_s: float) -> None:
    answer = api(user).post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")
    assert answer.status_code == 200, answer.content
    at = alarm.received_at + timedelta(seconds=after_s)
    Alarm.objects.filter(pk=alarm.pk).update(acknowledged_at=at)


def closed(alarm: Alarm, user, outcome: str) -> None:
    answer = api(user).post(
        f"/api/v1/alarms/{alarm.pk}/close/", {"outcome": outcome}, format="json"
    )
    assert answer.status_code == 200, answer.content


def on_site(alarm: Alarm, worker, after_s: float) -> None:
    """The worker takes the alarm's emergency request, checks in and out (free for the next);
    the check-in is then moved to `after_s` after the alarm was received."""
    sr = Alarm.objects.get(pk=alarm.pk).request_id
    client = api(worker.user)
    offer = JobOffer.objects.get(request_id=sr, worker=worker)
    assert client.post(f"/api/v1/offers/{offer.pk}/accept/").status_code == 200
    checked_in = client.post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
    assert checked_in.status_code == 201, checked_in.content
    client.post(f"/api/v1/requests/{sr}/check-out/", ON_THE_DOORSTEP, format="json")
    at = alarm.received_at + timedelta(seconds=after_s)
    assert ServiceRequest.objects.get(pk=sr).arrived_at is not None  # the check-in set it
    ServiceRequest.objects.filter(pk=sr).update(arrived_at=at)
    Visit.objects.filter(request_id=sr).update(checked_in_at=at)


@pytest.fixture
def january(operator, elder, make_worker, district, django_capture_on_commit_callbacks):
    """5 January 2026 (Shanghai): five alarms, one at each edge of the day; one on the 6th at
    00:00; one of another district on the 5th."""
    worker = make_worker(east_m=100)
    capture = django_capture_on_commit_callbacks
    # 08:00 SOS: seen after 1.5 s, acknowledged after 20 s, help dispatched by the operator,
    # on site after 600 s, closed with help on site.
    sos = received(elder, "sos", local(5, 8))
    seen(sos, 1.5)
    acknowledged(sos, operator, 20)
    with capture(execute=True):
        assert api(operator).post(f"/api/v1/alarms/{sos.pk}/dispatch/").status_code == 200
    on_site(sos, worker, 600)
    closed(sos, operator, "help_on_site")
    # 09:00 fall: seen after 0.5 s, nobody acknowledges: the platform dispatches; on site after
    # 900 s; acknowledged after 75 s; taken to hospital.
    fall = received(elder, "fall", local(5, 9))
    seen(fall, 0.5)
    with capture(execute=True):
        assert alarm_dispatch_overdue(alarm_id=fall.pk)
    on_site(fall, worker, 900)
    acknowledged(fall, operator, 75)
    closed(fall, operator, "taken_to_hospital")
    # 10:00 SOS sent 120 s late: seen after 2.5 s, acknowledged after 45 s, a false alarm.
    late = received(elder, "sos", local(5, 10), late_s=120)
    seen(late, 2.5)
    acknowledged(late, operator, 45)
    closed(late, operator, "false_alarm")
    # 00:00:00 smoke (16:00 UTC on the 4th): seen after 0.25 s, acknowledged after 200 s, 119.
    smoke = received(elder, "smoke", local(5, 0))
    seen(smoke, 0.25)
    acknowledged(smoke, operator, 200)
    closed(smoke, operator, "called_119")
    # 23:59:59 gas: never seen, never acknowledged, still open.
    received(elder, "gas", local(5, 23, 59, 59))
    # The 6th at 00:00:00 (16:00 UTC on the 5th): seen after 3 s, acknowledged after 10 s, a
    # false alarm.
    next_day = received(elder, "sos", local(6, 0))
    seen(next_day, 3)
    acknowledged(next_day, operator, 10)
    closed(next_day, operator, "false_alarm")
    # Another district's, on the 5th: acknowledged after 5 s.
    elsewhere = f.ElderFactory(district=f.DistrictFactory())
    other = received(elsewhere, "sos", local(5, 12))
    acknowledged(other, f.UserFactory(role="operator", district=elsewhere.district), 5)


def figures(user, **period):
    answer = api(user).get("/api/v1/alarms/figures/", period)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_day_s_figures_are_exact(january, operator):
    body = figures(operator, **{"from": "2026-01-04", "to": "2026-01-06"})

    fourth, fifth, sixth = body["days"]
    assert (fourth["day"], fifth["day"], sixth["day"]) == ("2026-01-04", "2026-01-05", "2026-01-06")
    assert fifth["received"] == 5
    assert fifth["by_kind"] == {"sos": 2, "fall": 1, "no_movement": 0, "smoke": 1, "gas": 1}
    assert fifth["late"] == 1
    # Seen after 1.5, 0.5, 2.5, 0.25 s (the gas alarm never): interpolated percentiles.
    assert fifth["shown"] == {"count": 4, "p50_s": 1.0, "p90_s": 2.2, "max_s": 2.5}
    # Acknowledged after 20, 75, 45, 200 s.
    assert fifth["acknowledged"] == {"count": 4, "p50_s": 60.0, "p90_s": 162.5, "max_s": 200.0}
    assert fifth["acknowledged_within"] == [
        {"within_s": 30, "promised_share": None, "within": 1, "missed": 4, "pending": 0,
         "share": 0.2},
        {"within_s": 60, "promised_share": 0.975, "within": 2, "missed": 3, "pending": 0,
         "share": 0.4},
        {"within_s": 180, "promised_share": 0.99, "within": 3, "missed": 2, "pending": 0,
         "share": 0.6},
    ]  # fmt: skip
    assert (fifth["dispatched"], fifth["dispatched_automatically"]) == (2, 1)
    assert fifth["on_site"] == {"count": 2, "p50_s": 750.0, "p90_s": 870.0, "max_s": 900.0}
    assert fifth["outcomes"] == {
        "false_alarm": 1,
        "help_on_site": 1,
        "called_120": 0,
        "called_119": 1,
        "taken_to_hospital": 1,
        "other": 0,
    }
    assert fifth["not_closed"] == 1


def test_the_total_is_computed_over_the_period_s_alarms_not_from_the_days(january, operator):
    body = figures(operator, **{"from": "2026-01-04", "to": "2026-01-06"})

    total = body["total"]
    assert total["day"] is None
    assert total["received"] == 6
    # Seen after 0.25, 0.5, 1.5, 2.5 and 3 s.
    assert total["shown"] == {"count": 5, "p50_s": 1.5, "p90_s": 2.8, "max_s": 3.0}
    # Acknowledged after 10, 20, 45, 75, 200 s.
    assert total["acknowledged"] == {"count": 5, "p50_s": 45.0, "p90_s": 150.0, "max_s": 200.0}
    assert [(m["within"], m["missed"]) for m in total["acknowledged_within"]] == [
        (2, 4),
        (3, 3),
        (4, 2),
    ]
    assert (body["from"], body["to"], body["time_zone"]) == (
        "2026-01-04",
        "2026-01-06",
        "Asia/Shanghai",
    )
    assert body["ack_target_s"] == 30


def test_days_are_shanghai_days_not_utc_days(january, operator):
    body = figures(operator, **{"from": "2026-01-04", "to": "2026-01-06"})

    # 00:00 on the 5th is the 4th in UTC, 00:00 on the 6th is the 5th in UTC: by UTC days the
    # 4th would have one alarm and the 5th five.
    assert [day["received"] for day in body["days"]] == [0, 5, 1]
    assert body["days"][2]["acknowledged"]["max_s"] == 10.0
    empty = body["days"][0]
    assert empty["shown"] == {"count": 0, "p50_s": None, "p90_s": None, "max_s": None}
    assert [m["share"] for m in empty["acknowledged_within"]] == [None, None, None]


def test_another_district_s_alarms_are_left_out(january, operator):
    other = Alarm.objects.exclude(district=operator.district).get()

    body = figures(operator, **{"from": "2026-01-05", "to": "2026-01-05"})

    assert other.received_at.astimezone(SHANGHAI).date() == date(2026, 1, 5)
    assert body["total"]["received"] == 5
    assert body["total"]["acknowledged"]["count"] == 4


def test_supervisors_and_administrators_see_them_and_a_family_member_is_refused(
    january, operator, family
):
    supervisor = f.UserFactory(role="supervisor", district=operator.district)
    admin = f.UserFactory(role="district_admin", district=operator.district)
    period = {"from": "2026-01-05", "to": "2026-01-05"}

    refused = api(family).get("/api/v1/alarms/figures/", period)

    assert refused.status_code == 403
    assert figures(supervisor, **period)["total"]["received"] == 5
    assert figures(admin, **period)["total"]["received"] == 5


def test_an_open_alarm_not_yet_past_a_mark_is_pending_there_and_missed_past_it(operator, elder):
    now = timezone.now()
    received(elder, "sos", now - timedelta(seconds=40))

    body = figures(operator)

    marks = body["total"]["acknowledged_within"]
    assert [(m["within"], m["missed"], m["pending"], m["share"]) for m in marks] == [
        (0, 1, 0, 0.0),
        (0, 0, 1, None),
        (0, 0, 1, None),
    ]


@pytest.mark.parametrize(
    ("target", "marks"),
    [
        (60, [(60, 0.975, 1, 0), (180, 0.99, 1, 0)]),
        (180, [(180, 0.99, 1, 0), (60, 0.975, 1, 0)]),
        (30, [(30, None, 0, 1), (60, 0.975, 1, 0), (180, 0.99, 1, 0)]),
    ],
)
def test_a_target_equal_to_a_telecare_mark_is_one_mark(operator, elder, settings, target, marks):
    settings.ANXIN = {**settings.ANXIN, "ALARM_ACK_WITHIN_S": target}
    acknowledged(received(elder, "sos", local(5, 8)), operator, 45)

    body = figures(operator, **{"from": "2026-01-05", "to": "2026-01-05"})

    for day in (body["days"][0], body["total"]):
        assert [
            (m["within_s"], m["promised_share"], m["within"], m["missed"])
            for m in day["acknowledged_within"]
        ] == marks
    assert body["ack_target_s"] == target


def test_the_default_is_the_last_seven_local_days_today_included(operator):
    today = datetime.now(SHANGHAI).date()

    body = figures(operator)

    assert (body["from"], body["to"]) == (str(today - timedelta(days=6)), str(today))
    assert len(body["days"]) == 7


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "5 January"}, "to"),
        ({"from": "2026-01-06", "to": "2026-01-05"}, "to"),
        ({"from": "2026-01-01", "to": "2026-04-03"}, "from"),  # 93 days
        ({"from": "1999-12-31", "to": "2000-01-01"}, "from"),
        ({"from": "0001-01-01", "to": "2000-01-02"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"to": "0001-01-03"}, "to"),
        ({"to": str(datetime.now(SHANGHAI).date() + timedelta(days=1))}, "to"),
        ({"from": str(datetime.now(SHANGHAI).date() + timedelta(days=1))}, "from"),  # no `to`
        ({"from": "2030-01-01"}, "from"),
    ],
)
def test_a_bad_period_is_400_naming_the_field(operator, period, field):
    answer = api(operator).get("/api/v1/alarms/figures/", period)

    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == {field}


def test_a_quarter_is_allowed(operator):
    body = figures(operator, **{"from": "2026-01-01", "to": "2026-04-02"})

    assert len(body["days"]) == 92


def test_the_figures_are_two_queries_whatever_the_number_of_alarms(operator, elder):
    first, last = date(2026, 1, 5), date(2026, 1, 6)
    now = timezone.now()

    def queries() -> int:
        with CaptureQueriesContext(connection) as read:
            alarm_figures(district_id=operator.district_id, first=first, last=last, now=now)
        return len(read.captured_queries)

    received(elder, "sos", local(5, 8))
    few = queries()
    for n in range(12):
        alarm = received(elder, "fall", local(5 + n % 2, 9, n))
        seen(alarm, n)
    many = queries()

    assert few == many == 2


def test_the_endpoint_reads_in_a_fixed_number_of_queries(operator, elder):
    def queries() -> int:
        with CaptureQueriesContext(connection) as read:
            figures(operator, **{"from": "2026-01-05", "to": "2026-01-05"})
        return len(read.captured_queries)

    received(elder, "sos", local(5, 8))
    few = queries()
    for n in range(8):
        received(elder, "gas", local(5, 10, n))

    assert queries() == few


def test_the_command_prints_the_same_figures(operator, elder, capsys):
    received(elder, "sos", timezone.now() - timedelta(seconds=5))
    api_body = figures(operator, **{"to": str(datetime.now(SHANGHAI).date())})

    call_command("alarm_figures", district=operator.district_id, days=7, json=True)
    as_json = json.loads(capsys.readouterr().out)
    call_command("alarm_figures", district=operator.district_id, days=7)
    table = capsys.readouterr().out

    assert as_json["days"] == api_body["days"]
    assert as_json["total"] == api_body["total"]
    assert "Alarm figures: 朝阳区 (220104000000)" in table
    assert "Target: acknowledged within 30 s. Telecare: 97.5% within 60 s, 99.0% within 180 s" in (
        table
    )
    total = next(line for line in table.splitlines() if line.startswith("total"))
    assert total.split()[:3] == ["total", "1", "0"]


def test_the_command_refuses_an_unknown_district_and_too_many_days(operator):
    with pytest.raises(CommandError, match="No district"):
        call_command("alarm_figures", district=999_999)
    with pytest.raises(CommandError, match="--days"):
        call_command("alarm_figures", district=operator.district_id, days=93)
