from django.core.management.base import BaseCommand

from backend.core.events import events_rebase_after_restore


class Command(BaseCommand):
    help = (
        "After restoring a dump (into any cluster), before the platform starts: keep the events "
        "feed going on from the clients' cursors (backend/core/events.py, docs/production.md). "
        "Does nothing where nothing is needed, so the migration step runs it every time."
    )

    def handle(self, *args, **options):
        shift = events_rebase_after_restore()
        if shift:
            self.stdout.write(f"events feed: stored transaction ids moved down by {shift}")
        else:
            self.stdout.write("events feed: nothing to move")
