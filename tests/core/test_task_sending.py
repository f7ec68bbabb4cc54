"""Sending a task from a new thread (each request runs in one) does not look up Celery's result
backend again: that lookup scans every installed package's entry points."""

import threading

import pytest
from celery.app import backends

from backend.celery import app
from backend.core.tasks import housekeeping_purge


# send_task, never run inline: the unit tests' eager mode does not apply to it.
@pytest.mark.filterwarnings("ignore:task_always_eager has no effect")
def test_a_task_sent_from_a_new_thread_reuses_the_result_backend(monkeypatch):
    app.backend  # noqa: B018 - looked up once for the process
    looked_up = []
    real = backends.by_name
    monkeypatch.setattr(backends, "by_name", lambda *a, **k: looked_up.append(a) or real(*a, **k))
    queue = f"{app.conf.task_default_queue}-probe-{threading.get_ident()}"
    sent = []

    def send():
        sent.append(app.send_task(housekeeping_purge.name, queue=queue))

    with app.connection_for_write() as conn:
        try:
            threads = [threading.Thread(target=send) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            conn.default_channel.queue_delete(queue)

    assert len(sent) == 3
    assert looked_up == []
