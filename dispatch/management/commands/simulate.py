from django.core.management.base import BaseCommand

from dispatch.simulate import simulate_run


class Command(BaseCommand):
    help = (
        "Play the demo district live: needs arrive from all over it, care plans schedule "
        "theirs, workers answer, visit and leave, an operator's colleague follows up. The demo "
        "accounts are left to you."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=300)
        parser.add_argument(
            "--rate",
            type=float,
            default=None,
            help="New needs a minute besides care plans (default: one per 60 elders, at least 6)",
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        simulate_run(
            seconds=options["seconds"],
            rate_per_min=options["rate"],
            seed=options["seed"],
            say=lambda line: self.stdout.write(line),
        )
