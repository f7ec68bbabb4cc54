"""Small districts whose figures are known by hand, for the response figures, the providers'
quality and the console's district pages: work orders, visits, ratings, complaints and alerts
made at known Shanghai times (rows written directly: the figures only read them)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch import services
from dispatch.models import (
    Complaint,
    Feedback,
    OperatorAlert,
    ServiceRequest,
    ServiceType,
    Visit,
)
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = timedelta(seconds=1)


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def work_order(elder, at: datetime, *, service: str = "meal", worker=None, **fields):
    """A work order logged through intake, then moved to have come in (and matched, and its
    window opened) at `at`, with targets 30 and 60 minutes on, assigned to `worker`."""
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code=service),
        channel="operator",
        caller=None,
    )
    values = {
        "created_at": at,
        "match_at": at,
        "window_start": at,
        "accept_due_at": at + timedelta(minutes=30),
        "arrive_due_at": at + timedelta(minutes=60),
        "state": "completed",
        **fields,
    }
    if worker is not None:
        values |= {"assigned_worker": worker, "assigned_provider": worker.provider}
    ServiceRequest.objects.filter(pk=sr.pk).update(**values)
    sr.refresh_from_db()
    return sr


def visit(sr, worker, *, checked_in_at=None, exception_state: str = "", checked_out=True):
    """The work order's visit, checked in at its `arrived_at` unless told."""
    at = checked_in_at or sr.arrived_at
    return Visit.objects.create(
        request=sr,
        worker=worker,
        elder=sr.elder,
        service_type=sr.service_type,
        state="completed" if checked_out else "on_site",
        checked_in_at=at,
        check_in_point=f.point(*f.HOME),
        check_in_distance_m=5,
        checked_out_at=at + timedelta(hours=1) if checked_out else None,
        exception_reason="gps_drift" if exception_state else "",
        exception_state=exception_state,
    )


def rating(sr, stars: int, at: datetime, by) -> Feedback:
    feedback = Feedback.objects.create(request=sr, rating=stars, given_by=by)
    Feedback.objects.filter(pk=feedback.pk).update(at=at)
    return feedback


def complaint(sr, opened_at: datetime, *, state: str = "open", decided_at=None) -> Complaint:
    made = Complaint.objects.create(request=sr, text="没有按时来", state=state)
    Complaint.objects.filter(pk=made.pk).update(opened_at=opened_at, decided_at=decided_at)
    return made


def non_arrival(sr) -> OperatorAlert:
    return OperatorAlert.objects.create(request=sr, kind="non_arrival", resend_at=sr.window_end)
