import csv
import io

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from elders.importer import ALL_OR_NOTHING, elders_import, read_rows
from elders.models import Elder, EmergencyContact
from tests.elders import ids

pytestmark = pytest.mark.django_db

HEADER = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "手机",
    "座机",
    "地址",
    "经度",
    "纬度",
    "坐标系",
    "区划代码",
    "居住状况",
    "类别",
    "紧急联系人",
    "关系",
    "联系人电话",
]


def row(name, gender, id_number, **over):
    values = {
        "姓名": name,
        "性别": gender,
        "出生日期": "",
        "身份证号": id_number,
        "手机": "",
        "座机": "0431-8888 1234",
        "地址": "长春市朝阳区红旗街 1 号",
        "经度": "125.3245",
        "纬度": "43.8868",
        "坐标系": "",
        "区划代码": "220104002003",
        "居住状况": "空巢",
        "类别": "高龄;低保",
        "紧急联系人": "李明",
        "关系": "儿子",
        "联系人电话": "139 0013 9000",
    }
    values.update(over)
    return [values[h] for h in HEADER]


GOOD = [
    row("王秀英", "女", ids.STANDARD_FEMALE_1949),
    row("李建国", "男", ids.MALE_1940, 手机="13800138000"),
    row("赵淑珍", "女", ids.FEMALE_1938, 坐标系="gcj02"),
]
BAD = [
    row("", "女", ids.FEMALE_1945),  # row 5: no name
    row("钱德明", "男", "110105194912310021"),  # row 6: check character
    row("孙凤英", "男", ids.FEMALE_1952),  # row 7: gender contradicts ID
    row("周志强", "男", ids.MALE_1950, 经度="east", 联系人电话="12"),  # row 8: two problems
    row("吴春华", "女", ids.STANDARD_FEMALE_1949),  # row 9: same ID as row 2
    row("郑文华", "女", ids.FEMALE_1941, 类别="高龄;外星人", 出生日期="1941-10-02"),  # row 10
]


def csv_bytes(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def run(rows, district, **kwargs):
    return elders_import(
        read_rows("census.csv", csv_bytes(rows)), district=district, actor=None, **kwargs
    )


@pytest.mark.usefixtures("english")
def test_bad_rows_are_each_reported_and_the_good_ones_kept(district):
    report = run(GOOD + BAD, district)

    assert (report.rows, report.created, report.updated) == (9, 3, 0)
    assert [(e.row, e.field) for e in report.errors] == [
        (5, "full_name"),
        (6, "id_number"),
        (7, "id_number"),
        (8, "longitude/latitude"),
        (8, "contact_phone"),
        (9, "id_number"),
        (10, "id_number"),
        (10, "categories"),
    ]
    reasons = {(e.row, e.field): e.reason for e in report.errors}
    assert "check character" in reasons[(6, "id_number")]
    assert reasons[(9, "id_number")] == "same ID number as row 2"
    assert "外星人" in reasons[(10, "categories")]
    assert Elder.objects.count() == 3
    wang = Elder.objects.get(full_name="王秀英")
    assert (wang.living_arrangement, wang.categories) == (
        "empty_nest",
        ["advanced_age", "low_income"],
    )
    assert str(wang.landline) == "+8643188881234"
    assert str(wang.contacts.get().phone) == "+8613900139000"


def test_no_id_number_appears_in_the_report(district):
    report = run(GOOD + BAD, district)

    text = report.as_csv() + report.summary()
    assert not any(value in text for value in ids.ALL + ["110105194912310021"])


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(district):
    report = run(GOOD + BAD[:1], district, mode=ALL_OR_NOTHING)

    assert report.created == 3 and len(report.errors) == 1
    assert not Elder.objects.exists()


def test_a_dry_run_counts_but_writes_nothing(district):
    report = run(GOOD, district, dry_run=True)

    assert report.created == 3 and not report.errors
    assert not Elder.objects.exists()


def test_importing_the_same_file_twice_updates_instead_of_duplicating(district):
    run(GOOD, district)
    changed = [
        row(
            "王秀英",
            "女",
            ids.STANDARD_FEMALE_1949,
            地址="长春市朝阳区新地址 9 号",
            联系人电话="139 0013 9999",
        )
    ] + GOOD[1:]

    report = run(changed, district)

    assert (report.created, report.updated) == (0, 3)
    assert Elder.objects.count() == 3
    wang = Elder.objects.get(full_name="王秀英")
    assert wang.address == "长春市朝阳区新地址 9 号"
    assert EmergencyContact.objects.filter(elder=wang).count() == 1
    assert str(wang.contacts.get().phone) == "+8613900139999"


@pytest.mark.usefixtures("english")
def test_an_elder_registered_in_another_district_is_not_taken_over(district):
    from tests import factories as f

    run(GOOD[:1], f.DistrictFactory())

    report = run(GOOD[:1], district)

    assert report.created == 0
    assert [(e.row, e.reason) for e in report.errors] == [(2, "another elder has this ID number")]


def test_xlsx_with_real_dates_and_numbers_reads_like_csv(district):
    from datetime import datetime

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    values = row("王秀英", "女", ids.STANDARD_FEMALE_1949)
    values[HEADER.index("出生日期")] = datetime(1949, 12, 31)
    values[HEADER.index("经度")] = 125.3245
    values[HEADER.index("区划代码")] = 220104002003
    sheet.append(values)
    content = io.BytesIO()
    book.save(content)

    report = elders_import(
        read_rows("census.xlsx", content.getvalue()), district=district, actor=None
    )

    assert report.created == 1, report.errors
    assert Elder.objects.get().division_code == "220104002003"


@pytest.mark.usefixtures("english")
def test_the_command_line_import_writes_a_report_file(district, tmp_path):
    source = tmp_path / "census.csv"
    source.write_bytes(csv_bytes(GOOD + BAD))
    out = io.StringIO()

    call_command(
        "import_elders",
        str(source),
        "--district",
        district.code,
        "--report",
        str(tmp_path / "report.csv"),
        stdout=out,
        stderr=io.StringIO(),
    )

    assert "created 3" in out.getvalue()
    lines = (tmp_path / "report.csv").read_text().splitlines()
    assert lines[0] == "row,field,reason" and len(lines) == 9
