"""A database dump, the application's logs and the import reports of a run with seeded ID
numbers hold none of them in plaintext."""

import io
import logging
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection

from elders.models import Elder
from tests import factories as f
from tests.conftest import api
from tests.elders import ids
from tests.elders.test_import import BAD, GOOD, csv_bytes

SEEDED = [
    ids.STANDARD_FEMALE_1949,
    ids.MALE_1940,
    ids.FEMALE_1938,
    ids.FEMALE_1945,
    ids.FEMALE_1952,
    ids.MALE_1950,
    ids.FEMALE_1941,
    ids.MALE_1933,
]


def dump_database() -> str:
    db = connection.settings_dict
    result = subprocess.run(
        [
            "pg_dump",
            "--no-owner",
            "-h",
            db["HOST"] or "127.0.0.1",
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"],
            db["NAME"],
        ],
        env={"PGPASSWORD": db["PASSWORD"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=120,
        check=True,
    )
    return result.stdout.decode("utf-8", errors="replace")


@pytest.mark.django_db(transaction=True)
def test_no_id_number_in_the_dump_the_logs_or_the_reports(tmp_path, caplog, catalogue):
    caplog.set_level(logging.DEBUG)
    district = f.DistrictFactory(code="220104000000")
    operator = f.UserFactory(role="operator", district=district)
    admin = f.UserFactory(role="district_admin", district=district)
    # Given elders imported from a census file, with bad rows, and one registered over the API
    census = tmp_path / "census.csv"
    census.write_bytes(csv_bytes(GOOD + BAD))
    report_file = tmp_path / "report.csv"
    out = io.StringIO()
    call_command(
        "import_elders",
        str(census),
        "--district",
        district.code,
        "--report",
        str(report_file),
        stdout=out,
        stderr=out,
    )
    created = api(operator).post(
        "/api/v1/elders/",
        {
            "full_name": "钱德明",
            "gender": "male",
            "address": "长春市朝阳区 1 号",
            "location": {"type": "Point", "coordinates": list(f.HOME)},
            "id_number": ids.MALE_1933,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="register-1",
    )
    refused = api(operator).post(
        "/api/v1/elders/",
        {
            "full_name": "钱德明",
            "gender": "female",
            "address": "x",
            "location": {"type": "Point", "coordinates": list(f.HOME)},
            "id_number": ids.MALE_1950,
        },
        format="json",
    )
    revealed = api(admin).post(
        f"/api/v1/elders/{created.json()['id']}/id-number/reveal/",
        {"purpose": "audit"},
        format="json",
    )
    assert created.status_code == 201 and refused.status_code == 400
    assert revealed.json()["id_number"] == ids.MALE_1933  # the data is really there
    assert Elder.objects.count() == 4

    # When we look everywhere the run left text
    dump = dump_database()
    logs = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    report = report_file.read_text() + out.getvalue()

    # Then no ID number is there in plaintext, though the elders are; nor a masked form, whose
    # last four beside the plain birth date would leave a handful of candidates
    assert "王秀英" in dump and "钱德明" in dump
    for value in SEEDED + ["110105194912310021"]:
        body, masked = value[:17], value[:3] + "*" * 11 + value[-4:]
        for where, text in (("dump", dump), ("logs", logs), ("report", report)):
            assert body not in text, f"{value[:3]}... found in the {where}"
            assert masked not in text, f"{value[:3]}...{value[-4:]} found in the {where}"
