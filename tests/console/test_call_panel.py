"""The console's call panel: an operator takes a waiting call or types a number, sees the
caller's elder as the API shows that role, reads the health notes (logged), confirms the caller
by the digits of their ID number, and creates a request in a few keystrokes with the duplicate
warning first; a refusal is the panel with the reason, in a 4xx."""

import json
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.models import ServiceRequest, ServiceType
from dispatch.services import service_request_create
from elders import services as elder_services
from elders.models import AccessLog
from hotline import services as hotline_services
from hotline.models import Call
from tests import factories as f
from tests.conftest import admin_login, api
from tests.elders import ids

pytestmark = pytest.mark.django_db

HOTLINE = "+8643112349"
_sids = iter(range(1, 10_000))


def waiting_call(district, from_number: str) -> Call:
    """A caller in the district's operator queue, as the hotline's webhooks leave one."""
    call = hotline_services.call_arrive(
        call_sid=f"CA{next(_sids):032x}",
        from_number=from_number,
        to_number=HOTLINE,
        district_id=district.pk,
    )
    return hotline_services.call_enqueue(call_id=call.pk, reason="operator")


@pytest.fixture
def desk(operator):
    """An operator with a phone the platform rings to put callers through."""
    operator.phone = "+8613700000001"
    operator.save()
    return operator


@pytest.fixture
def registered(district, operator):
    """An elder registered through the service, with an ID number and a contact on file."""
    elder = elder_services.elder_create(
        actor=operator,
        district_id=district.pk,
        full_name="王秀英",
        gender="female",
        birth_date=None,
        address="长春市朝阳区红旗街 8 号",
        location=f.point(*f.HOME),
        phone="+8613800138000",
        id_number=ids.STANDARD_FEMALE_1949,
    )
    f.ContactFactory(elder=elder, name="李明", phone="+8613900139000")
    return elder


def as_json(data) -> object:
    return json.loads(json.dumps(data, default=str))


def create_form(elder, **values) -> dict[str, str]:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "service_type": "meal",
        "when": "",
        "priority": "",
        "notes": "",
        **values,
    }


# Who may use it -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["worker", "family", "provider_admin"])
def test_anyone_but_district_staff_is_refused(role, district, registered):
    user = f.UserFactory(role=role)
    console = admin_login(user)
    for response in (
        console.get(f"/console/call/?number={registered.phone}"),
        console.get(f"/console/call/elders/{registered.pk}/"),
        console.post(f"/console/call/elders/{registered.pk}/health/", {"purpose": "x"}),
        console.post(f"/console/call/elders/{registered.pk}/request/", create_form(registered)),
    ):
        assert response.status_code == 403
    assert not AccessLog.objects.exists()
    assert not ServiceRequest.objects.exists()


def test_an_htmx_request_without_a_session_is_sent_to_the_sign_in(client, registered):
    response = client.get(f"/console/call/?number={registered.phone}", HTTP_HX_REQUEST="true")

    assert response.status_code == 401
    assert response["HX-Redirect"].startswith("/console/sign-in/")


# Who is calling -----------------------------------------------------------------------------


def test_a_waiting_call_shows_the_number_its_wait_and_the_elder_as_the_api_shows_an_operator(
    english, district, operator, registered
):
    call = waiting_call(district, "138 0013 8000")

    response = admin_login(operator).get(f"/console/call/?call={call.pk}")

    assert response.status_code == 200
    page = response.content.decode()
    assert "138 0013 8000" in page
    assert "Waiting for an operator" in page
    assert 'data-clock="elapsed"' in page
    assert f'data-refresh-subject="call:{call.pk}"' in page
    assert "王秀英" in page and "李明" in page
    shown = api(operator).get(f"/api/v1/elders/{registered.pk}/").json()
    assert as_json(response.context["elder"]) == shown
    assert "birth_date" not in response.context["elder"]
    assert "1949-12-31" not in page and ids.STANDARD_FEMALE_1949 not in page


def test_a_supervisor_sees_the_birth_date_as_the_api_shows_a_supervisor(district, registered):
    supervisor = f.UserFactory(role="supervisor", district=district)

    response = admin_login(supervisor).get(f"/console/call/elders/{registered.pk}/")

    assert response.status_code == 200
    shown = api(supervisor).get(f"/api/v1/elders/{registered.pk}/").json()
    assert as_json(response.context["elder"]) == shown
    assert "1949-12-31" in response.content.decode()


def test_a_shared_number_offers_each_elder_to_choose(english, district, operator):
    husband = f.ElderFactory(district=district, full_name="张建国", landline="+864318888123")
    wife = f.ElderFactory(district=district, full_name="刘桂兰", landline="+864318888123")

    panel = admin_login(operator).get("/console/call/?number=0431-8888123")

    assert panel.status_code == 200
    page = panel.content.decode()
    assert "2 elders share this number" in page
    for elder in (husband, wife):
        assert f'hx-get="/console/call/elders/{elder.pk}/"' in page
    assert "elder" not in panel.context  # nobody chosen yet
    chosen = admin_login(operator).get(f"/console/call/elders/{wife.pk}/")
    assert chosen.status_code == 200
    assert chosen.context["elder"]["full_name"] == "刘桂兰"


def test_an_unknown_number_says_so_and_offers_the_name_search(english, district, operator):
    elder = f.ElderFactory(district=district, full_name="赵淑芬")
    console = admin_login(operator)

    unknown = console.get("/console/call/?number=13912345678")
    found = console.get("/console/call/?number=淑芬")

    assert unknown.status_code == 200
    assert "No elder on file for 13912345678" in unknown.content.decode()
    assert 'name="number"' in unknown.content.decode()
    assert found.status_code == 200
    assert found.context["elder"]["id"] == elder.pk


def test_an_elder_of_another_district_is_not_found(district, operator):
    elsewhere = f.ElderFactory(phone="+8613811112222")
    console = admin_login(operator)

    assert console.get("/console/call/?number=13811112222").context["cards"] == []
    assert console.get(f"/console/call/elders/{elsewhere.pk}/").status_code == 404
    other_call = waiting_call(elsewhere.district, "13811112222")
    assert console.get(f"/console/call/?call={other_call.pk}").status_code == 404


@pytest.mark.parametrize(("query", "field"), [("number=12", "number"), ("call=x1", "call")])
def test_typed_input_that_is_no_number_is_a_400_naming_the_field(query, field, operator):
    response = admin_login(operator).get(f"/console/call/?{query}")

    assert response.status_code == 400
    assert list(response.context["field_errors"]) == [field]


# Taking the call ------------------------------------------------------------------------------


def test_taking_a_waiting_call_rings_the_operators_phone_and_answers_its_panel(
    english, district, desk, registered, outbox
):
    call = waiting_call(district, "13800138000")

    response = admin_login(desk).post(f"/console/calls/{call.pk}/take/")

    assert response.status_code == 200
    call.refresh_from_db()
    assert (call.state, call.taken_by) == ("connecting", desk)
    assert any(r.get("kind") == "redirect" and r.get("call_sid") == call.call_sid for r in outbox)
    page = response.content.decode()
    assert "Your phone is ringing" in page and "王秀英" in page


def test_a_take_without_a_registered_phone_is_a_422_saying_so(english, district, operator):
    call = waiting_call(district, "13800138000")

    response = admin_login(operator).post(f"/console/calls/{call.pk}/take/")

    assert response.status_code == 422
    assert "Register your phone number first" in response.content.decode()
    assert list(response.context["field_errors"]) == ["phone"]
    assert Call.objects.get(pk=call.pk).state == "queued"


def test_a_call_taken_by_a_colleague_is_a_409_naming_them(english, district, desk):
    colleague = f.UserFactory(role="operator", district=district, username="colleague")
    colleague.phone = "+8613700000002"
    colleague.save()
    call = waiting_call(district, "13800138000")
    hotline_services.call_take(call_id=call.pk, user=colleague)

    response = admin_login(desk).post(f"/console/calls/{call.pk}/take/")

    assert response.status_code == 409
    assert "already connecting by colleague" in response.content.decode()
    assert Call.objects.get(pk=call.pk).taken_by == colleague


def test_an_ended_call_or_one_of_another_district_cannot_be_taken(english, district, desk):
    ended = waiting_call(district, "13800138000")
    hotline_services.call_status_record(call_sid=ended.call_sid, status="completed")
    elsewhere = waiting_call(f.DistrictFactory(), "13800138000")
    console = admin_login(desk)

    assert console.post(f"/console/calls/{ended.pk}/take/").status_code == 409
    assert console.post(f"/console/calls/{elsewhere.pk}/take/").status_code == 404
    assert console.get(f"/console/calls/{ended.pk}/take/").status_code == 405


def test_the_calls_header_follows_its_state(english, district, desk):
    call = waiting_call(district, "13800138000")
    hotline_services.call_take(call_id=call.pk, user=desk)

    header = admin_login(desk).get(f"/console/calls/{call.pk}/status/")

    assert header.status_code == 200
    assert "Taken, ringing the operator&#x27;s phone" in header.content.decode()
    assert "Take the call" not in header.content.decode()


# Health notes and the caller's ID -------------------------------------------------------------


def test_showing_the_health_notes_logs_the_read_with_its_purpose(english, operator, registered):
    elder_services.health_profile_write(elder=registered, user=operator, allergies="青霉素")
    console = admin_login(operator)

    panel = console.get(f"/console/call/elders/{registered.pk}/")
    assert "青霉素" not in panel.content.decode()  # behind the button
    shown = console.post(
        f"/console/call/elders/{registered.pk}/health/", {"purpose": "Caller asks about a bath"}
    )

    assert shown.status_code == 200
    assert "青霉素" in shown.content.decode()
    log = AccessLog.objects.get()
    assert (log.user, log.elder, log.field, log.purpose) == (
        operator,
        registered,
        "health",
        "Caller asks about a bath",
    )


def test_health_notes_without_a_purpose_are_a_400_naming_it_and_not_read(operator, registered):
    response = admin_login(operator).post(
        f"/console/call/elders/{registered.pk}/health/", {"purpose": ""}
    )

    assert response.status_code == 400
    assert list(response.context["field_errors"]) == ["purpose"]
    assert not AccessLog.objects.exists()


def test_the_id_check_answers_match_no_match_and_too_many_tries(english, operator, registered):
    console = admin_login(operator)
    url = f"/console/call/elders/{registered.pk}/id-check/"

    match = console.post(url, {"last_digits": "002x"})
    no_match = console.post(url, {"last_digits": "0021"})
    malformed = console.post(url, {"last_digits": "12"})
    for _ in range(3):  # five checks an hour on one elder
        console.post(url, {"last_digits": "0021"})
    too_many = console.post(url, {"last_digits": "002X"})

    assert (match.status_code, match.context["result"]) == (200, "match")
    assert (no_match.status_code, no_match.context["result"]) == (200, "no_match")
    assert malformed.status_code == 400
    assert list(malformed.context["field_errors"]) == ["last_digits"]
    assert too_many.status_code == 429
    assert "Too many tries" in too_many.content.decode()
    assert int(too_many["Retry-After"]) > 0
    assert AccessLog.objects.filter(field="id_number_check").count() == 5


# A request in a few keystrokes ----------------------------------------------------------------


def test_an_operator_creates_a_request_for_now_through_dispatchs_intake(
    english, district, operator, registered, django_capture_on_commit_callbacks
):
    call = waiting_call(district, "13800138000")
    form = create_form(registered, notes="Soft food", call=str(call.pk))

    with django_capture_on_commit_callbacks(execute=False):
        response = admin_login(operator).post(
            f"/console/call/elders/{registered.pk}/request/", form
        )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#workspace"
    sr = ServiceRequest.objects.get()
    assert (sr.elder, sr.service_type.code, sr.channel, sr.caller, sr.notes) == (
        registered,
        "meal",
        "operator",
        operator,
        "Soft food",
    )
    assert sr.priority == "routine" and sr.possible_duplicate_of is None
    assert f"/console/requests/{sr.pk}/" in response.content.decode()
    assert f"Request {sr.reference} created" in response.content.decode()


# A day a month ahead: a time the operator may choose for a visit.
SOON = date.today() + timedelta(days=30)


def test_the_elders_recent_requests_list_them_with_their_time_on_the_call_centres_clock(
    operator, registered
):
    desk = admin_login(operator)
    desk.post(
        f"/console/call/elders/{registered.pk}/request/",
        create_form(registered, service_type="cleaning", when=f"{SOON:%Y-%m-%d}T09:30"),
    )

    listed = desk.get(f"/console/call/elders/{registered.pk}/requests/")

    assert listed.status_code == 200
    assert f"{SOON:%m-%d} 09:30" in listed.content.decode()


def test_a_chosen_time_is_read_in_the_display_time_zone(operator, registered):
    form = create_form(registered, service_type="cleaning", when=f"{SOON:%Y-%m-%d}T09:30")

    response = admin_login(operator).post(f"/console/call/elders/{registered.pk}/request/", form)

    assert response.status_code == 200
    sr = ServiceRequest.objects.get()
    shanghai = ZoneInfo("Asia/Shanghai")
    assert sr.window_start == datetime(SOON.year, SOON.month, SOON.day, 9, 30, tzinfo=shanghai)


def test_a_double_submit_creates_one_request(english, operator, registered):
    console = admin_login(operator)
    form = create_form(registered)

    first = console.post(f"/console/call/elders/{registered.pk}/request/", form)
    again = console.post(f"/console/call/elders/{registered.pk}/request/", form)
    changed = console.post(
        f"/console/call/elders/{registered.pk}/request/", {**form, "notes": "other"}
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert ServiceRequest.objects.count() == 1
    assert again.context["sr"].pk == first.context["sr"].pk
    assert "already been created" in again.content.decode()
    assert changed.status_code == 422
    assert ServiceRequest.objects.count() == 1


def test_an_open_request_of_the_same_service_is_named_before_creating(
    english, operator, registered
):
    meal = ServiceType.objects.get(code="meal")
    open_one = service_request_create(
        elder=registered, service_type=meal, channel="family", caller=None
    )
    console = admin_login(operator)
    url = f"/console/call/elders/{registered.pk}/request/"

    warned = console.get(f"/console/call/elders/{registered.pk}/duplicates/?service_type=meal")
    none_for_cleaning = console.get(
        f"/console/call/elders/{registered.pk}/duplicates/?service_type=cleaning"
    )
    form = create_form(registered)
    held = console.post(url, form)

    assert open_one.reference in warned.content.decode()
    assert none_for_cleaning.context["duplicates"] == []
    assert held.status_code == 409
    assert open_one.reference in held.content.decode()
    assert "Create anyway" in held.content.decode()
    assert ServiceRequest.objects.count() == 1

    created = console.post(url, {**form, "confirm_duplicate": "1"})

    assert created.status_code == 200
    sr = ServiceRequest.objects.exclude(pk=open_one.pk).get()
    assert sr.possible_duplicate_of == open_one
    assert f"possible duplicate of {open_one.reference}" in created.content.decode()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"service_type": ""}, "service_type"),
        ({"service_type": "no-such-service"}, "service_type"),
        ({"when": "tomorrow"}, "when"),
        ({"priority": "asap"}, "priority"),
        ({"notes": "x" * 2001}, "notes"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(
    values, field, operator, registered
):
    response = admin_login(operator).post(
        f"/console/call/elders/{registered.pk}/request/", create_form(registered, **values)
    )

    assert response.status_code == 400
    assert field in response.context["field_errors"]
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"when": "9999-12-31T23:59"}, "when"),  # past what a date can add a duration to
        ({"when": "2001-01-01T09:00"}, "when"),
        ({"idempotency_key": "key\x00with a NUL"}, "idempotency_key"),
    ],
)
def test_odd_input_to_the_request_form_is_a_400_naming_the_field(
    english, operator, registered, values, field
):
    answer = admin_login(operator).post(
        f"/console/call/elders/{registered.pk}/request/", create_form(registered, **values)
    )

    assert answer.status_code == 400, answer.content
    assert field in answer.content.decode() or "when" in answer.content.decode()
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize("query", ["call=%C2%B2", "call=%EF%BC%91", "call=99999999999999999999"])
def test_odd_ids_in_the_panels_address_are_a_400(operator, registered, query):
    answer = admin_login(operator).get(f"/console/call/?{query}")

    assert answer.status_code == 400


def test_a_nul_typed_as_a_number_is_answered_not_a_500(operator, registered):
    assert admin_login(operator).get("/console/call/?number=%00").status_code < 500


def test_a_service_code_with_a_nul_is_a_400_when_looking_for_duplicates(operator, registered):
    answer = admin_login(operator).get(
        f"/console/call/elders/{registered.pk}/duplicates/", {"service_type": "meal\x00"}
    )

    assert answer.status_code == 400
