from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from backend.accounts.models import District
from dispatch.demo import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEMO_SEED,
    DISTRICT_CODE,
    DemoSize,
    demo_district_seed,
    demo_telephony_ensure,
)
from elders.models import AlarmDevice, CareNeed, Elder
from providers.models import Provider, Worker


class Command(BaseCommand):
    help = (
        "Create a synthetic district (elders with assessments, care plans and devices; "
        "providers; workers) and the demo accounts, which play together."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if any district exists"
        )
        parser.add_argument("--elders", type=int, default=DemoSize.elders)
        parser.add_argument("--providers", type=int, default=DemoSize.providers)
        parser.add_argument("--workers", type=int, default=DemoSize.workers)
        parser.add_argument(
            "--seed", type=int, default=DEMO_SEED, help="Seed of all that is random"
        )

    def handle(self, *args, **options):
        if options["if_empty"] and District.objects.exists():
            demo = District.objects.filter(code=DISTRICT_CODE).first()
            if demo is not None:  # seeded by an earlier version: what it lacks is added
                demo_telephony_ensure(demo)
            self.stdout.write("Demo data: a district exists already, nothing to do.")
            return
        if District.objects.filter(code=DISTRICT_CODE).exists():
            raise CommandError(f"District {DISTRICT_CODE} exists already: the demo is seeded.")
        size = DemoSize(options["elders"], options["providers"], options["workers"])
        if min(size.elders, size.providers, size.workers) < 1:
            raise CommandError("A demo district needs at least one elder, provider and worker.")
        # Nobody can be watching a district that does not exist yet: its events are written
        # (the audit record and the feed) but not pushed, which at a couple of milliseconds
        # each would take longer than the seed itself.
        with override_settings(CHANNEL_LAYERS={}):
            district = demo_district_seed(
                size, seed=options["seed"], progress=options["verbosity"] > 0
            )
        elders = Elder.objects.filter(district=district)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo district {district}: {elders.count()} elders "
                f"({CareNeed.objects.filter(elder__in=elders).values('elder').distinct().count()}"
                f" with a care plan, "
                f"{AlarmDevice.objects.filter(elder__in=elders).count()} alarm devices), "
                f"{Provider.objects.filter(district=district).count()} providers, "
                f"{Worker.objects.filter(provider__district=district).count()} workers."
            )
        )
        self.stdout.write(f"Demo accounts (password '{DEMO_PASSWORD}'):")
        for username, _, what in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<11} {what}")
