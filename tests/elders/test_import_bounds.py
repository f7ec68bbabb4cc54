"""A census file is bounded before it is read: its size in bytes, what its XLSX parts unpack to
(a zip bomb), the number of shared strings (which the reader keeps in memory) and the number of
rows. Refusals name the limit and happen before any row is imported."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from elders import importer
from elders.importer import elders_import, read_rows
from elders.models import Elder
from tests.elders import ids
from tests.elders.test_import import HEADER, csv_bytes, row

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MB = 1024 * 1024
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = f"""<Relationships xmlns="{RELS}"><Relationship Id="rId1"
 Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK = f"""<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>
<sheet name="census" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = f"""<Relationships xmlns="{RELS}">
<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""


def column(n: int) -> str:
    return chr(ord("A") + n)


def xlsx(rows, *, dimension=None, extra_strings=0, count_attribute=True, parts=None) -> bytes:
    """A workbook written by hand as Excel writes one: every text in the shared-strings part,
    cells pointing at it by index. `extra_strings` adds unused strings; `parts` adds parts."""
    strings: list[str] = []
    sheet_rows = []
    for r, values in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(values):
            strings.append(str(value))
            cells.append(f'<c r="{column(c)}{r}" t="s"><v>{len(strings) - 1}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<worksheet xmlns="{MAIN}">{dim}<sheetData>{"".join(sheet_rows)}</sheetData></worksheet>'
    )
    total = len(strings) + extra_strings
    counts = f' count="{total}" uniqueCount="{total}"' if count_attribute else ""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        with z.open("xl/sharedStrings.xml", "w") as shared:
            shared.write(f'<sst xmlns="{MAIN}"{counts}>'.encode())
            shared.write("".join(f"<si><t>{s}</t></si>" for s in strings).encode())
            for _ in range(extra_strings // 10_000):
                shared.write(b"<si><t>x</t></si>" * 10_000)
            shared.write(b"<si><t>x</t></si>" * (extra_strings % 10_000))
            shared.write(b"</sst>")
        for name, (size, how) in (parts or {}).items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_STORED if how == "stored" else zipfile.ZIP_DEFLATED
            with z.open(info, "w") as part:
                for _ in range(size // MB):
                    part.write(b"\0" * MB)
                part.write(b"\0" * (size % MB))
    return out.getvalue()


CENSUS = [HEADER, row("王秀英", "女", ids.STANDARD_FEMALE_1949)]


def refused(name, content, match):
    with pytest.raises(ValueError, match=match) as refusal:
        rows = read_rows(name, content)
        for _ in rows:
            pass
    return refusal.value


def test_a_workbook_written_like_excels_reads_like_csv(district):
    # The hand-made workbook of these tests is a real one: a refusal below is the bound's doing
    report = elders_import(
        read_rows("census.xlsx", xlsx(CENSUS, dimension="A1:P2")),
        district=district,
        actor=None,
    )

    assert (report.created, report.errors) == (1, [])
    assert Elder.objects.get().full_name == "王秀英"


def test_a_file_over_50_mb_is_refused_before_it_is_read():
    padded = xlsx(CENSUS, parts={"xl/media/image1.png": (50 * MB, "stored")})
    long_csv = csv_bytes([row("王秀英", "女", ids.STANDARD_FEMALE_1949)] * 320_000)

    assert len(padded) > 50 * MB and len(long_csv) > 50 * MB
    refused("census.xlsx", padded, "larger than 50 MB")
    refused("census.csv", long_csv, "larger than 50 MB")


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    # 1.4 MB on disk, 301 MB unpacked
    bomb = xlsx(CENSUS, parts={"xl/media/image1.png": (301 * MB, "deflated")})

    assert len(bomb) < 2 * MB
    refused("census.xlsx", bomb, "unpacks to more than 300 MB")


def test_more_shared_strings_than_the_bound_are_refused_before_they_are_read():
    crowded = xlsx(CENSUS, extra_strings=2_000_000)

    refused("census.xlsx", crowded, "more than 2,000,000 shared strings")


def test_shared_strings_are_counted_when_the_count_is_left_out(monkeypatch):
    monkeypatch.setattr(importer, "MAX_SHARED_STRINGS", 1_000, raising=False)

    unannounced = xlsx(CENSUS, extra_strings=1_000, count_attribute=False)

    refused("census.xlsx", unannounced, "more than 1,000 shared strings")


def test_a_sheet_declaring_more_than_200000_rows_is_refused_before_it_is_read():
    declared = xlsx(CENSUS, dimension="A1:P200002")

    refused("census.xlsx", declared, "more than 200,000 rows")


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_rows_past_the_bound_are_refused_as_they_are_read(kind, monkeypatch, district):
    monkeypatch.setattr(importer, "MAX_ROWS", 100, raising=False)
    many = [HEADER] + [row(f"王{n}", "女", ids.STANDARD_FEMALE_1949) for n in range(101)]
    content = xlsx(many) if kind == "xlsx" else csv_bytes(many[1:])

    with pytest.raises(ValueError, match="more than 100 rows"):
        elders_import(read_rows(f"census.{kind}", content), district=district, actor=None)

    assert not Elder.objects.exists()


def test_the_command_line_import_says_why_it_refuses(tmp_path, district, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 2, raising=False)
    source = tmp_path / "census.csv"
    source.write_bytes(csv_bytes([row(f"王{n}", "女", ids.STANDARD_FEMALE_1949) for n in range(3)]))

    with pytest.raises(CommandError, match="more than 2 rows"):
        call_command(
            "import_elders", str(source), "--district", district.code, stdout=io.StringIO()
        )
