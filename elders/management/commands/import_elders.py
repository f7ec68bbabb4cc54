from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backend.accounts.models import District
from elders.importer import ALL_OR_NOTHING, KEEP_GOOD, elders_import, read_rows


class Command(BaseCommand):
    help = "Import a census spreadsheet (CSV or XLSX) of elders, keyed by ID number."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--district", required=True, help="District division code")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check everything, write nothing"
        )
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Write nothing if any row is bad (default: keep good rows)",
        )
        parser.add_argument("--report", type=Path, help="Write every bad row to this CSV")

    def handle(self, *args, **options):
        district = District.objects.filter(code=options["district"]).first()
        if district is None:
            raise CommandError(f"no district with code {options['district']}")
        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            total = sum(1 for _ in read_rows(path))
            with tqdm(total=total, unit="rows", desc=path.name) as bar:
                report = elders_import(
                    read_rows(path),
                    district=district,
                    actor=None,
                    mode=ALL_OR_NOTHING if options["all_or_nothing"] else KEEP_GOOD,
                    dry_run=options["dry_run"],
                    progress=bar.update,
                )
        except ValueError as exc:  # not a census file, or over a bound (CensusFileRefused)
            raise CommandError(f"{path.name}: {exc}") from None
        self.stdout.write(report.summary())
        if options["report"]:
            options["report"].write_text(report.as_csv(), encoding="utf-8")
            self.stdout.write(f"Report: {options['report']}")
        else:
            for error in report.errors[:50]:
                self.stdout.write(f"  row {error.row}: {error.field}: {error.reason}")
            if len(report.errors) > 50:
                self.stdout.write(f"  ... and {len(report.errors) - 50} more (use --report)")
