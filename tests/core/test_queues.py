"""Queues by urgency: one table says which queue each task goes to, every queue is named from
the deployment's base (CELERY_QUEUE), and deploy/up starts a worker for each."""

import os
import re
import shlex
from pathlib import Path

from django.conf import settings

from backend.celery import app
from backend.core.queues import LANES, TASK_LANES, routed_queues


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_each_lane_has_a_queue_named_from_the_base():
    base = os.environ["CELERY_QUEUE"]

    assert {lane: f"{base}-{lane}" for lane in LANES} == settings.ANXIN_QUEUES
    assert {q.name for q in settings.CELERY_TASK_QUEUES} == set(settings.ANXIN_QUEUES.values())


def test_every_task_goes_to_its_lanes_queue_and_anything_unrouted_to_routine():
    for task, lane in TASK_LANES.items():
        assert queue_of(task) == settings.ANXIN_QUEUES[lane], task
    assert queue_of("some.new.task") == settings.ANXIN_QUEUES["routine"]


def test_every_registered_task_of_ours_has_a_lane():
    app.loader.import_default_modules()  # what a worker imports: every app's tasks module
    ours = {name for name in app.tasks if not name.startswith("celery.")}

    assert ours == set(TASK_LANES)


def test_the_queues_that_need_a_consumer_are_the_four():
    assert routed_queues() == set(settings.ANXIN_QUEUES.values())


def test_deploy_up_runs_one_supervised_worker_on_each_queue():
    up = (Path(settings.BASE_DIR) / "deploy" / "up").read_text()
    workers = re.search(r"^WORKERS=\((.*)\)$", up, re.MULTILINE)
    command = re.search(
        r"supervise \S+ (?:env [^\n]*\\\n\s+)?celery -A backend worker -Q (\S+)", up
    )

    assert workers and command, "deploy/up starts its workers in one loop"
    lanes = [shlex.split(worker)[0] for worker in shlex.split(workers.group(1))]
    assert sorted(lanes) == sorted(LANES)
    assert command.group(1) == '"$CELERY_QUEUE-$lane"'
    assert len(re.findall(r"celery -A backend worker", up)) == 1
    assert up.index("manage.py check_queues") > command.end(), "checks once the workers start"
