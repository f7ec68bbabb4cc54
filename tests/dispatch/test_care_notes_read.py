"""Care notes copied from a care plan onto a work order are care-plan notes: reading them there
is access-logged as reading them on the elder's file is."""

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import JobOffer, ServiceType
from elders.models import AccessLog, CareNeed
from tests.conftest import api

pytestmark = pytest.mark.django_db


def planned_job(elder, notes="软食，少盐；钥匙在邻居家"):
    need = CareNeed.objects.create(
        elder=elder,
        service_code="meal",
        rrule="FREQ=DAILY;BYHOUR=11;BYMINUTE=30",
        starts_on=timezone.localdate(),
        notes=notes,
    )
    return services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="scheduled",
        caller=None,
        notes=notes,
        care_need_id=need.pk,
    )


def test_a_worker_reading_care_notes_on_their_job_leaves_an_access_log_row(
    elder, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    with django_capture_on_commit_callbacks(execute=True):
        sr = planned_job(elder)
    services.offer_accept(offer_id=JobOffer.objects.get(request=sr).pk, user=worker.user)

    detail = api(worker.user).get(f"/api/v1/requests/{sr.pk}/").json()
    listed = api(worker.user).get("/api/v1/requests/").json()["results"]

    assert detail["notes"] == listed[0]["notes"] == sr.notes
    rows = AccessLog.objects.filter(user=worker.user, elder=elder, field="care_plan")
    assert rows.count() == 2
    assert all(row.purpose.startswith(f"request:{sr.pk}") for row in rows)


def test_nothing_is_logged_where_the_notes_are_not_shown_or_not_from_a_plan(
    elder, operator, make_worker, django_capture_on_commit_callbacks
):
    worker = make_worker(east_m=30)
    with django_capture_on_commit_callbacks(execute=True):
        sr = planned_job(elder)
        typed = services.service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="cleaning"),
            channel="operator",
            caller=operator,
            notes="请带拖把",
        )

    api(worker.user).get(f"/api/v1/requests/{sr.pk}/")  # offered, not theirs: 404
    api(operator).get(f"/api/v1/requests/{typed.pk}/")  # notes an operator typed

    assert not AccessLog.objects.filter(field="care_plan").exists()
