"""An alert, once taken or resolved, does not come back by itself: each resolution code says
what follows it. The sweeper raises under the work order's lock, and beat never runs two
sweeps at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import OperatorAlert
from dispatch.tasks import sweep_deadlines
from tests.conftest import api

pytestmark = pytest.mark.django_db


def alerts_of(alert):
    return list(
        OperatorAlert.objects.filter(request_id=alert.request_id, kind=alert.kind)
        .order_by("pk")
        .values_list("resolution", flat=True)
    )


def resolve(operator, alert, code):
    response = api(operator).post(
        f"/api/v1/alerts/{alert.pk}/resolve/", {"resolution": code}, format="json"
    )
    assert response.status_code == 200, response.content


def test_an_acknowledged_missing_check_out_is_not_raised_again(operator, missing_check_out):
    api(operator).post(f"/api/v1/alerts/{missing_check_out.pk}/acknowledge/")

    sweep_deadlines()
    sweep_deadlines()

    assert alerts_of(missing_check_out) == [""]


def test_worker_forgot_check_out_closes_the_episode(operator, missing_check_out):
    resolve(operator, missing_check_out, "worker_forgot_check_out")
    OperatorAlert.objects.filter(pk=missing_check_out.pk).update(
        resolved_at=timezone.now() - timedelta(days=1)
    )

    sweep_deadlines()

    assert alerts_of(missing_check_out) == ["worker_forgot_check_out"]


def test_visit_extended_silences_for_one_grace_period_then_alerts_again(
    operator, missing_check_out, settings
):
    resolve(operator, missing_check_out, "visit_extended")
    sweep_deadlines()
    assert alerts_of(missing_check_out) == ["visit_extended"]

    grace = settings.ANXIN["MISSING_CHECK_OUT_GRACE_M"]
    OperatorAlert.objects.filter(pk=missing_check_out.pk).update(
        resolved_at=timezone.now() - timedelta(minutes=grace, seconds=1)
    )
    first, second = sweep_deadlines(), sweep_deadlines()

    assert alerts_of(missing_check_out) == ["visit_extended", ""]
    assert (first["missing_check_outs"], second["missing_check_outs"]) == (1, 0)
    again = OperatorAlert.objects.filter(request_id=missing_check_out.request_id).last()
    assert (again.visit_id, again.episode) == (missing_check_out.request.visit.pk, 2)


def test_the_database_refuses_a_second_alert_of_one_episode(missing_check_out):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError, match="one_alert_per_episode"), transaction.atomic():
        OperatorAlert.objects.create(
            request_id=missing_check_out.request_id,
            visit_id=missing_check_out.visit_id,
            kind="missing_check_out",
            episode=missing_check_out.episode,
            resend_at=timezone.now(),
            resolved_at=timezone.now(),
        )


def test_a_sweep_does_not_start_while_another_is_running(missing_check_out, other_session):
    """Another session (another worker process) holds each sweep's advisory lock."""
    from dispatch.tasks import ROUTINE_SWEEP, URGENT_SWEEP

    for sweep in (URGENT_SWEEP, ROUTINE_SWEEP):
        other_session.execute("SELECT pg_advisory_lock(%s)", [sweep.lock])
    while_held = sweep_deadlines()
    for sweep in (URGENT_SWEEP, ROUTINE_SWEEP):
        other_session.execute("SELECT pg_advisory_unlock(%s)", [sweep.lock])
    after = sweep_deadlines()

    assert while_held == {"skipped": "urgent, routine"}
    assert "skipped" not in after
