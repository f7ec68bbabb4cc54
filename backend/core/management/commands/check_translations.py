import time

from django.core.management.base import BaseCommand, CommandError

from backend.core import translations


class Command(BaseCommand):
    help = (
        "Fail (exit 1, naming each) when a catalogue in locale/ has an untranslated or fuzzy "
        "entry or a format error (msgfmt --check --statistics), or lacks a msgid the code has "
        "(makemessages run on a copy). --update merges the code's msgids into the catalogues "
        "instead: translate what it adds (and review what it marks fuzzy), then check again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--update", action="store_true", help="merge the code's msgids into locale/"
        )

    def handle(self, *args, update: bool, **options):
        started = time.monotonic()
        if update:
            for unused in translations.unused():
                self.stdout.write(f"dropping msgids the code no longer has: {unused}")
            changed = translations.update()
            for po in changed:
                self.stdout.write(f"updated {po}")
            if not changed:
                self.stdout.write("the catalogues already had every msgid of the code")
        problems = translations.problems()
        for problem in problems:
            self.stderr.write(problem)
        took = time.monotonic() - started
        if problems:
            raise CommandError(f"{len(problems)} catalogue problems ({took:.1f} s)")
        self.stdout.write(f"translations complete ({took:.1f} s)")
