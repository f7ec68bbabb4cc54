"""Side effects leave only after the transaction commits, through this one helper."""

from celery import Task
from django.db import transaction


def enqueue_after_commit(task: Task, *args, countdown: float | None = None, **kwargs) -> None:
    def send() -> None:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown)

    transaction.on_commit(send)
