from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.accounts.models import User
from backend.core.events import event_record

from .models import Worker, WorkerPosition


def worker_shift_set(*, worker: Worker, state: str, actor: User) -> Worker:
    with transaction.atomic():
        worker = Worker.objects.select_for_update().select_related("provider").get(pk=worker.pk)
        before = worker.shift_state
        if before == state:
            return worker
        worker.shift_state = state
        worker.save(update_fields=["shift_state"])
        event_record(
            kind="worker.shift",
            subject_type="worker",
            subject_id=worker.pk,
            actor=actor,
            before=before,
            after=state,
            district_id=worker.provider.district_id,
            recipients=[worker.user_id],
        )
    return worker


def worker_position_record(*, worker: Worker, point: Point) -> WorkerPosition:
    position, _ = WorkerPosition.objects.update_or_create(
        worker=worker, defaults={"point": point, "recorded_at": timezone.now()}
    )
    return position


def worker_jobs_adjust(*, worker_id: int, delta: int) -> None:
    """Count a job taken (+1) or finished (-1); the capacity check constraint backs the rule.

    Caller holds the lock on the work order, so jobs of one order are counted once.
    """
    Worker.objects.filter(pk=worker_id).update(active_jobs=F("active_jobs") + delta)
