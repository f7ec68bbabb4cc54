"""Measure the census import: N synthetic rows, first as new elders, then again as updates."""

import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import connection

from backend.accounts.models import District
from elders.identity import check_character
from elders.importer import elders_import, read_rows
from elders.models import Elder, EmergencyContact

HEADER = [
    "full_name",
    "gender",
    "id_number",
    "phone",
    "landline",
    "address",
    "longitude",
    "latitude",
    "division_code",
    "living_arrangement",
    "categories",
    "contact_name",
    "contact_relationship",
    "contact_phone",
]


def synthetic_rows(n: int, seed: int = 7):
    """Benchmark data only: ID numbers made with the standard's check character."""
    rng = random.Random(seed)
    start = date(1925, 1, 1)
    for i in range(n):
        born = start + timedelta(days=i // 1000)
        sequence = i % 1000
        first17 = f"220104{born:%Y%m%d}{sequence:03d}"
        id_number = first17 + check_character(first17)
        gender = "男" if sequence % 2 else "女"
        yield [
            f"测试{i}",
            gender,
            id_number,
            f"138{rng.randrange(10**8):08d}",
            f"0431{rng.randrange(10**8):08d}",
            f"长春市朝阳区测试路 {i} 号",
            f"{rng.uniform(125.24, 125.36):.6f}",
            f"{rng.uniform(43.80, 43.90):.6f}",
            "220104002003",
            rng.choice(["独居", "空巢", "与家人同住"]),
            "高龄",
            "联系人",
            "子女",
            f"139{rng.randrange(10**8):08d}",
        ]


class Command(BaseCommand):
    help = "Time importing N synthetic census rows (new, then re-imported as updates)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--keep", action="store_true", help="Keep the imported elders")

    def handle(self, *args, **options):
        n = options["rows"]
        district, _ = District.objects.get_or_create(
            code="229999000000", defaults={"name": "benchmark district"}
        )
        self._clear(district)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "census.csv"
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(HEADER)
                writer.writerows(synthetic_rows(n))
            size_mb = path.stat().st_size / 1e6
            for label in ("new elders", "re-import (updates)"):
                started = time.perf_counter()
                report = elders_import(read_rows(path), district=district, actor=None)
                elapsed = time.perf_counter() - started
                self.stdout.write(
                    f"{label:<20} {n:>7} rows ({size_mb:.1f} MB CSV) in {elapsed:6.1f} s = "
                    f"{n / elapsed:7.0f} rows/s; created {report.created}, updated "
                    f"{report.updated}, errors {len(report.errors)}"
                )
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            self.stdout.write(cursor.fetchone()[0].split(",")[0])
        if not options["keep"]:
            self._clear(district)

    def _clear(self, district: District) -> None:
        EmergencyContact.objects.filter(elder__district=district).delete()
        Elder.objects.filter(district=district).delete()
