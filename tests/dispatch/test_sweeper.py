"""The sweepers: urgent work has a sweep of its own (its queue, its lock, every 5 s), so an
emergency's deadline never waits behind routine ones; one bad row never stops the rest,
time-critical work goes first, and the figures count what was done, not what was looked at."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import JobOffer, OfferState, RequestState, ServiceRequest
from dispatch.tasks import ROUTINE_SWEEP, URGENT_SWEEP, _steps, sweep_deadlines, sweep_routine
from dispatch.tasks import sweep_urgent as urgent_sweep
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
    step = dict((name, (due, act)) for name, due, act in _steps(timezone.now(), urgent=False))
    due, act = step["requests_closed"]
    assert due() == [sr]

    services.request_close(request_id=sr, actor=operator)

    assert act(sr) is False


@pytest.mark.parametrize("urgent", [True, False])
def test_time_critical_work_goes_first(urgent):
    names = [name for name, _, _ in _steps(timezone.now(), urgent=urgent)]
    # Alarms have a sweep of their own (alarms/tasks.py), on their own queue.
    assert not [name for name in names if name.startswith("alarms_")]

    assert names[:4] == [
        "offers_expired",
        "requests_matched",
        "accept_targets_missed",
        "arrive_targets_missed",
    ]
    assert names.index("alerts_resent") < names.index("no_shows") < names.index("requests_closed")


def expired_offers(operator, elder, make_worker, capture):
    """A routine and an emergency work order, each with an offer past its deadline."""
    make_worker(east_m=30)
    routine = create(operator, elder, capture)
    emergency = create(operator, elder, capture, service="emergency")
    JobOffer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return routine, emergency


def expired(request_id):
    return JobOffer.objects.filter(request_id=request_id, state=OfferState.EXPIRED).exists()


def test_the_urgent_sweep_takes_only_urgent_work_and_the_routine_sweep_the_rest(
    operator, elder, make_worker, django_capture_on_commit_callbacks
):
    routine, emergency = expired_offers(
        operator, elder, make_worker, django_capture_on_commit_callbacks
    )

    urgent = urgent_sweep()

    assert urgent["offers_expired"] == 1
    assert expired(emergency) and not expired(routine)

    rest = sweep_routine()

    assert rest["offers_expired"] == 1
    assert expired(routine)


def test_the_urgent_sweep_runs_while_a_routine_sweep_holds_its_lock(
    operator, elder, make_worker, django_capture_on_commit_callbacks, other_session
):
    """A long routine sweep (in another worker process) never holds up an emergency's."""
    routine, emergency = expired_offers(
        operator, elder, make_worker, django_capture_on_commit_callbacks
    )
    other_session.execute("SELECT pg_advisory_lock(%s)", [ROUTINE_SWEEP.lock])

    skipped = sweep_routine()
    urgent = urgent_sweep()

    assert skipped == {"skipped": "another sweep is running"}
    assert urgent["offers_expired"] == 1
    assert expired(emergency) and not expired(routine)


def test_each_sweep_runs_on_its_own_queue_the_urgent_one_more_often(settings):
    from backend.celery import app

    entries = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    urgent, routine = entries[URGENT_SWEEP.timer], entries[ROUTINE_SWEEP.timer]

    assert (urgent_sweep.name, sweep_routine.name) == (URGENT_SWEEP.timer, ROUTINE_SWEEP.timer)
    assert urgent["options"]["queue"] == settings.ANXIN_QUEUES["urgent"]
    assert routine["options"]["queue"] == settings.ANXIN_QUEUES["routine"]
    assert (
        app.amqp.router.route({}, URGENT_SWEEP.timer)["queue"].name
        == (settings.ANXIN_QUEUES["urgent"])
    )
    assert (urgent["schedule"], routine["schedule"]) == (5, 10)
    assert URGENT_SWEEP.lock != ROUTINE_SWEEP.lock


def test_beat_sends_each_entry_to_its_tasks_queue_with_an_expiry_of_its_own_period(settings):
    from backend.celery import app

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        route = app.amqp.router.route({}, entry["task"])["queue"].name
        assert entry["options"]["queue"] == route, name
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

    result = sweep_routine()

    assert ServiceRequest.objects.get(pk=sr).state == RequestState.CLOSED
    assert (result["requests_closed"], result["items_failed"]) == (1, 1)
