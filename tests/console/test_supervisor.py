"""The supervisor's view, through Django's test client: who sees it (supervisors and district
administrators; an operator is told it is not theirs), today's figures on made data around the
Shanghai midnight (what came in at 23:30 yesterday is not today's), the hourly chart as inline
SVG with a table for screen readers, the live fragment's wiring, and a fixed number of queries
whatever the day's volume."""

import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.services import MessageIn, device_message_take
from dispatch import escalation, services
from dispatch.models import ServiceRequest, ServiceType
from elders.models import AlarmDevice
from hotline import services as hotline
from tests import factories as f
from tests.conftest import admin_login

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE = "/console/supervisor/"
FRAGMENT = "/console/supervisor/figures/"


def midnight() -> datetime:
    """Today's first moment in Shanghai."""
    return datetime.combine(datetime.now(SHANGHAI).date(), time.min, tzinfo=SHANGHAI)


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1).strip()


def came_in(elder, at: datetime, *, priority: str = "routine", **fields) -> ServiceRequest:
    """A work order logged through intake, then moved to have come in at `at`."""
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=None,
        priority=priority,
    )
    due = {"accept_due_at": at + timedelta(minutes=30), "arrive_due_at": at + timedelta(hours=1)}
    ServiceRequest.objects.filter(pk=sr.pk).update(created_at=at, **{**due, **fields})
    return sr


def alarm_received(elder, at: datetime) -> None:
    device = AlarmDevice.objects.create(elder=elder, serial=f"DEV-{uuid.uuid4().hex[:8]}")
    message = MessageIn(event_id=uuid.uuid4(), kind="fall", at=at, location=None, battery=None)
    assert device_message_take(device_id=device.pk, message=message, received_at=at).alarm


@pytest.fixture
def supervisor(district):
    return f.UserFactory(role="supervisor", district=district)


@pytest.fixture
def around_midnight(elder, operator, district):
    """Two work orders of today (the first at 00:00:00 Shanghai, late on site; one accepted in
    time, at 00:20), two of yesterday evening (23:30 and the last second), one of another
    district; an alarm today and one yesterday at 23:30; an open alert; a caller waiting."""
    today = midnight()
    came_in(
        elder,
        today,
        priority="urgent",
        state="on_site",
        accepted_at=today + timedelta(minutes=5),
        arrived_at=today + timedelta(hours=2),
    )
    sr = came_in(
        elder,
        today + timedelta(minutes=20),
        state="escalated",
        accepted_at=today + timedelta(minutes=25),
        arrive_due_at=today + timedelta(days=1),
    )
    escalation.alert_raise(sr, "no_worker")
    came_in(elder, today - timedelta(minutes=30), state="matching")
    came_in(elder, today - timedelta(seconds=1), state="matching")
    came_in(f.ElderFactory(), today + timedelta(minutes=1), state="matching")
    alarm_received(elder, today + timedelta(minutes=10))
    alarm_received(elder, today - timedelta(minutes=30))
    call = hotline.call_arrive(
        call_sid="CA1", from_number="+8613800000001", to_number="+8612349", district_id=district.pk
    )
    hotline.call_enqueue(call_id=call.pk, emergency=False, reason="test")


def test_supervisors_and_district_administrators_see_it(supervisor, district):
    admin = f.UserFactory(role="district_admin", district=district)

    for user in (supervisor, admin):
        page = admin_login(user).get(PAGE)
        assert page.status_code == 200
        assert 'aria-current="page"' in page.content.decode()  # the nav's "Today"


def test_an_operator_is_told_it_is_not_theirs(operator, english):
    client = admin_login(operator)

    page = client.get(PAGE)
    fragment = client.get(FRAGMENT, HTTP_HX_REQUEST="true")

    assert page.status_code == 403
    assert "for supervisors and district administrators" in page.content.decode()
    assert 'href="/console/"' in page.content.decode()  # the way back to the queue
    assert fragment.status_code == 403
    assert fragment.content.decode().startswith('<p class="error">')


def test_anyone_else_is_sent_to_sign_in_or_refused(supervisor, family):
    password_only = Client()
    password_only.force_login(supervisor)

    assert Client().get(PAGE).status_code == 302
    assert password_only.get(PAGE).status_code == 302  # no second factor yet
    assert admin_login(family).get(PAGE).status_code == 403


def test_todays_figures_leave_out_yesterday_evening(supervisor, around_midnight):
    html = admin_login(supervisor).get(PAGE).content.decode()

    assert figure(html, "requests") == "2"
    assert figure(html, "accepted-met") == "2"
    assert figure(html, "accepted-share") == "100%"
    assert figure(html, "late") == "1"
    assert figure(html, "alerts") == "1"
    assert figure(html, "alerts-untaken") == "1"
    assert figure(html, "alarms") == "1"  # alarms/figures.py's count, the same Shanghai day
    assert figure(html, "waiting-calls") == "1"
    assert 'data-alert-kind="no_worker"' in html


def test_the_chart_is_inline_svg_with_a_table_for_screen_readers(supervisor, around_midnight):
    html = admin_login(supervisor).get(PAGE).content.decode()

    chart = html[html.index('<figure class="chart"') : html.index("</figure>")]
    assert re.search(r'<svg class="chart-svg" viewBox="0 0 \d+ \d+" aria-hidden="true"', chart)
    assert len(re.findall(r'<rect class="bar-requests"', chart)) == 1  # only hour 0 has any
    assert len(re.findall(r'<rect class="bar-late"', chart)) == 1
    rows = re.findall(
        r"<tr><th scope=\"row\">(\d\d):00–\d\d:00</th><td>(\d+)</td><td>(\d+)</td>", chart
    )
    assert len(rows) == 24
    assert rows[0] == ("00", "2", "1")
    assert all(row[1:] == ("0", "0") for row in rows[1:])
    assert "style=" not in html  # the Content-Security-Policy refuses inline styles
    assert "console/supervisor.css" in html


def test_the_figures_follow_the_live_state_a_few_seconds_at_most_apart(supervisor):
    client = admin_login(supervisor)

    page = client.get(PAGE).content.decode()
    fragment = client.get(FRAGMENT, HTTP_HX_REQUEST="true")

    section = re.search(r'<section id="figures"[^>]*>', page).group(0)
    assert 'hx-get="/console/supervisor/figures/"' in section
    # The section stays, its content is swapped: console.js sees each fetch end (a replaced
    # element's end is announced on its parent) and fetches once more if events came meanwhile.
    assert 'hx-swap="innerHTML"' in section
    assert re.search(r'hx-trigger="refresh delay:[2-5]s"', section)
    prefixes = re.search(r'data-refresh-on="([^"]+)"', section).group(1).split()
    assert {"request.", "alert.", "alarm.", "call."} <= set(prefixes)
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert 'data-figure="requests"' in html and "<section" not in html and "<html" not in html


def test_a_fixed_number_of_queries_whatever_the_days_volume(supervisor, elder, district):
    client = admin_login(supervisor)
    today = midnight()
    came_in(elder, today)
    client.get(PAGE)  # the session and the catalogue are warm

    with CaptureQueriesContext(connection) as quiet:
        assert client.get(PAGE).status_code == 200
    for n in range(40):
        sr = came_in(elder, today + timedelta(minutes=n), state="escalated")
        escalation.alert_raise(sr, "no_worker" if n % 2 else "late_arrival")
        alarm_received(elder, today + timedelta(minutes=n))
    with CaptureQueriesContext(connection) as busy:
        assert client.get(PAGE).status_code == 200

    assert len(busy) == len(quiet) <= 12
