from django.core.management.base import BaseCommand

from backend.accounts.models import District
from dispatch.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoSize, demo_district_seed


class Command(BaseCommand):
    help = "Create a synthetic district (elders, providers, workers) and demo accounts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if any district exists"
        )
        parser.add_argument("--elders", type=int, default=DemoSize.elders)
        parser.add_argument("--providers", type=int, default=DemoSize.providers)
        parser.add_argument("--workers", type=int, default=DemoSize.workers)

    def handle(self, *args, **options):
        if options["if_empty"] and District.objects.exists():
            self.stdout.write("Demo data: a district exists already, nothing to do.")
            return
        size = DemoSize(options["elders"], options["providers"], options["workers"])
        district = demo_district_seed(size)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo district {district}: {size.elders} elders, {size.providers} providers, "
                f"{size.workers} workers."
            )
        )
        self.stdout.write(f"Demo accounts (password '{DEMO_PASSWORD}'):")
        for username, _, what in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<11} {what}")
