"""Bulk writes in short transactions.

The events feed serves nothing newer than the oldest transaction still open anywhere in the
cluster (backend/core/events.py, COMMIT_SAFE_WATERMARK): one statement that deletes a day's
position traces or an hour's idempotency records holds every client's feed back for as long as
it runs. A batch at a time, each its own transaction, holds it back for one batch only.
"""

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

PURGE_BATCH = 5000


def delete_in_batches(queryset: QuerySet[Any], *, batch: int = PURGE_BATCH) -> int:
    """Delete what `queryset` selects, `batch` rows per transaction; returns how many rows of
    its model went. Call it outside a transaction, or the batches are one again."""
    model = queryset.model
    deleted = 0
    while ids := list(queryset.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            _, by_model = model._base_manager.filter(pk__in=ids).delete()
        deleted += by_model.get(model._meta.label, 0)
        if len(ids) < batch:
            break
    return deleted
