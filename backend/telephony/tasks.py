from celery import shared_task

from .backends import get_backend


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def sms_send(to: str, body: str) -> str:
    return get_backend().send_sms(to=to, body=body)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def call_place(to: str, say: str) -> str:
    return get_backend().place_call(to=to, say=say)
