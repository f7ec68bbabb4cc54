"""A census import keeps its transactions short: keeping the good rows, each batch commits on its
own (the events feed waits for the oldest open transaction in the cluster); all or nothing is
one transaction by what it promises; a file over the row bound is refused before any batch."""

import io
import threading

import pytest
from django.db import connections
from openpyxl import Workbook

from backend.core.models import Event
from elders import importer
from elders.importer import ALL_OR_NOTHING, CensusFileRefused, elders_import, read_rows
from elders.models import Elder
from tests import factories as f
from tests.elders import ids
from tests.elders.test_import import GOOD, csv_bytes, row

FIVE = [
    *GOOD,
    row("钱秀兰", "女", ids.FEMALE_1945),
    row("周志强", "男", ids.MALE_1950),
]


def elders_seen_elsewhere(district_id: int) -> int:
    """What another connection (another server process) sees committed now."""
    seen: list[int] = []

    def count() -> None:
        try:
            seen.append(Elder.objects.filter(district_id=district_id).count())
        finally:
            connections.close_all()

    reader = threading.Thread(target=count)
    reader.start()
    reader.join(10)
    return seen[0]


def import_watching(district, rows, **options) -> tuple[importer.ImportReport, list[int]]:
    """Import `rows`, and after each row read, count what another connection sees."""
    seen: list[int] = []
    report = elders_import(
        read_rows("census.csv", csv_bytes(rows)),
        district=district,
        actor=None,
        progress=lambda _: seen.append(elders_seen_elsewhere(district.pk)),
        **options,
    )
    return report, seen


@pytest.mark.django_db(transaction=True)
def test_keeping_the_good_rows_commits_each_batch_with_its_audit_row(monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)
    district = f.DistrictFactory()

    report, seen = import_watching(district, FIVE)

    assert report.created == 5
    assert seen == [0, 2, 2, 4, 4]  # the first batch is there for everyone before the end
    batches = Event.objects.filter(kind="elder.import_batch").order_by("pk")
    assert [(e.data["rows"], e.data["created"]) for e in batches] == [
        ([2, 3], 2),
        ([4, 5], 2),
        ([6, 6], 1),
    ]
    assert Event.objects.get(kind="elder.imported").data["created"] == 5


@pytest.mark.django_db(transaction=True)
def test_all_or_nothing_shows_nothing_until_it_commits_the_whole_file(monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)
    district = f.DistrictFactory()

    report, seen = import_watching(district, FIVE, mode=ALL_OR_NOTHING)

    assert report.created == 5
    assert seen == [0, 0, 0, 0, 0]
    assert elders_seen_elsewhere(district.pk) == 5
    assert not Event.objects.filter(kind="elder.import_batch").exists()


@pytest.mark.django_db
def test_a_dry_run_writes_each_batch_and_rolls_it_back(monkeypatch, district):
    monkeypatch.setattr(importer, "BATCH", 2)

    report = elders_import(
        read_rows("census.csv", csv_bytes(FIVE)), district=district, actor=None, dry_run=True
    )

    assert (report.created, report.errors) == (5, [])
    assert not Elder.objects.exists()
    assert not Event.objects.filter(kind__startswith="elder.import").exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("english")
def test_a_csv_past_the_row_bound_is_refused_before_any_batch_is_written(monkeypatch, district):
    monkeypatch.setattr(importer, "BATCH", 2)
    monkeypatch.setattr(importer, "MAX_ROWS", 4)

    with pytest.raises(CensusFileRefused, match="more than 4 rows"):
        elders_import(read_rows("census.csv", csv_bytes(FIVE)), district=district, actor=None)

    assert not Elder.objects.exists()


@pytest.mark.usefixtures("english")
def test_a_workbook_whose_rows_run_past_the_bound_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 100)
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "性别", "身份证号"])
    sheet.append(["王秀英", "女", ids.STANDARD_FEMALE_1949])
    sheet.cell(row=250, column=1, value="李建国")  # rows 3 to 249 blank, as a reader counts them
    content = io.BytesIO()
    book.save(content)

    with pytest.raises(CensusFileRefused, match="more than 100 rows"):
        read_rows("census.xlsx", content.getvalue())
