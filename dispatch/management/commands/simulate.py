from django.core.management.base import BaseCommand

from dispatch.simulate import simulate_run


class Command(BaseCommand):
    help = "Play the demo district live: requests arrive, workers answer, visit and leave."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=300)
        parser.add_argument("--rate", type=float, default=6, help="New requests per minute")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        simulate_run(
            seconds=options["seconds"],
            rate_per_min=options["rate"],
            seed=options["seed"],
            say=lambda line: self.stdout.write(line),
        )
