"""The sweeper: one bad row never stops the rest, time-critical work goes first, and its
figures count what it did, not what it looked at."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest
from dispatch.tasks import _steps, sweep_deadlines
from tests.conftest import api
from tests.dispatch.conftest import ON_THE_DOORSTEP, create

pytestmark = pytest.mark.django_db


def completed_long_ago(operator, elder, worker, capture):
    sr = create(operator, elder, capture)
    client = api(worker.user)
    client.post(f"/api/v1/offers/{JobOffer.objects.get(request_id=sr).pk}/accept/")
    client.post(f"/api/v1/requests/{sr}/check-in/", ON_THE_DOORSTEP, format="json")
    client.post(f"/api/v1/requests/{sr}/check-out/", ON_THE_DOORSTEP, format="json")
    ServiceRequest.objects.filter(pk=sr).update(state_changed_at=timezone.now() - timedelta(days=4))
    return sr


def test_a_failing_row_among_good_ones_leaves_the_good_ones_done(
    operator, elder, make_worker, django_capture_on_commit_callbacks, monkeypatch
):
    worker = make_worker(east_m=30, capacity=3)
    done = [
        completed_long_ago(operator, elder, worker, django_capture_on_commit_callbacks)
        for _ in range(3)
    ]
    bad = done[1]
    real = services.request_close_after_quiet_period

    def close(*, request_id):
        if request_id == bad:
            raise RuntimeError("a row the sweeper cannot handle")
        return real(request_id=request_id)

    monkeypatch.setattr(services, "request_close_after_quiet_period", close)

    result = sweep_deadlines()

    states = dict(ServiceRequest.objects.filter(pk__in=done).values_list("pk", "state"))
    assert states == {
        done[0]: RequestState.CLOSED,
        bad: RequestState.COMPLETED,
        done[2]: RequestState.CLOSED,
    }
    assert (result["requests_closed"], result["items_failed"]) == (2, 1)


def test_the_sweep_counts_actions_not_rows_looked_at(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    sr = completed_long_ago(operator, elder, worker, django_capture_on_commit_callbacks)
    services.request_close(request_id=sr, actor=operator)  # feedback or an operator got there

    result = sweep_deadlines()

    assert result["requests_closed"] == 0 and result["items_failed"] == 0


def test_a_work_order_closed_between_the_scan_and_the_close_is_left_alone(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    """The race the issue found: the sweeper's close after feedback closed it was a 409 that
    aborted the whole sweep."""
    worker = make_worker(east_m=30)
    sr = completed_long_ago(operator, elder, worker, django_capture_on_commit_callbacks)
    step = dict((name, (due, act)) for name, due, act in _steps(timezone.now()))
    due, act = step["requests_closed"]
    assert due() == [sr]

    services.request_close(request_id=sr, actor=operator)

    assert act(sr) is False


def test_time_critical_work_goes_first():
    names = [name for name, _, _ in _steps(timezone.now())]

    assert names[:4] == [
        "offers_expired",
        "requests_matched",
        "accept_targets_missed",
        "arrive_targets_missed",
    ]
    assert names.index("alerts_resent") < names.index("no_shows") < names.index("requests_closed")


def test_an_emergencys_expired_offer_is_handled_before_routine_ones(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    make_worker(east_m=30)
    routine = create(operator, elder, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        emergency = (
            api(operator)
            .post(
                "/api/v1/requests/",
                {"elder": elder.pk, "service_type": "emergency"},
                format="json",
            )
            .json()["id"]
        )
    JobOffer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    step = dict((name, due) for name, due, _ in _steps(timezone.now()))

    due = step["offers_expired"]()

    offers = JobOffer.objects.filter(state=OfferState.PENDING)
    first = offers.get(pk=due[0]).request_id
    assert first == emergency and routine in set(offers.values_list("request_id", flat=True))


def test_beat_sends_each_entry_with_an_expiry_of_its_own_period(settings):
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["options"]["expires"] == entry["schedule"], name


def test_a_step_whose_scan_fails_does_not_stop_the_later_steps(
    operator, elder, make_worker, django_capture_on_commit_callbacks, monkeypatch
):
    from dispatch import escalation

    worker = make_worker(east_m=30)
    sr = completed_long_ago(operator, elder, worker, django_capture_on_commit_callbacks)

    def broken():
        raise RuntimeError("the alerts scan failed")

    monkeypatch.setattr(escalation, "alerts_due_for_resend", broken)

    result = sweep_deadlines()

    assert ServiceRequest.objects.get(pk=sr).state == RequestState.CLOSED
    assert (result["requests_closed"], result["items_failed"]) == (1, 1)
