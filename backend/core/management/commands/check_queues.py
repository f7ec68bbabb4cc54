import time

from django.core.management.base import BaseCommand, CommandError

from backend.core.queues import queue_consumers, queues_without_consumer, routed_queues

LISTEN_S = 1.0


class Command(BaseCommand):
    help = (
        "Wait (at most --wait seconds) until every queue a task can be sent to has a worker "
        "consuming it; name each that has none and exit 1. deploy/up runs it after starting "
        "the workers: a task sent to a queue nobody consumes waits forever, silently."
    )

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=60.0, help="seconds (default 60)")

    def handle(self, *args, wait: float, **options):
        wanted = routed_queues()
        deadline = time.monotonic() + wait
        while True:
            heard = queue_consumers(wanted, timeout=LISTEN_S)
            missing = queues_without_consumer(heard)
            if not missing or time.monotonic() >= deadline:
                break
            time.sleep(LISTEN_S)
        for queue in missing:
            self.stderr.write(
                f"NO CONSUMER for queue {queue}: every task sent there waits until a worker "
                f"consumes it (celery -A backend worker -Q {queue})"
            )
        if missing:
            raise CommandError(
                f"{len(missing)} of {len(wanted)} queues have no consumer after {wait:g} s: "
                + ", ".join(missing)
            )
        for queue in sorted(wanted):
            workers = sorted(worker for worker, queues in heard.items() if queue in queues)
            self.stdout.write(f"{queue}: {', '.join(workers)}")
