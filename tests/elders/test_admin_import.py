import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from elders.models import Elder
from tests import factories as f
from tests.conftest import admin_login
from tests.elders.test_import import BAD, GOOD, csv_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("english")
def test_the_admin_import_page_reports_every_bad_row_and_honours_the_dry_run(district):
    admin = f.UserFactory(
        role="district_admin", district=district, is_staff=True, is_superuser=True
    )
    client = admin_login(admin)

    def upload(dry_run):
        return client.post(
            "/admin/elders/elder/import/",
            {
                "file": SimpleUploadedFile("census.csv", csv_bytes(GOOD + BAD)),
                "district": district.pk,
                "mode": "keep_good",
                **({"dry_run": "on"} if dry_run else {}),
            },
        )

    dry = upload(dry_run=True)
    assert dry.status_code == 200
    assert not Elder.objects.exists()
    real = upload(dry_run=False)

    page = real.content.decode()
    assert "created 3" in page and page.count("<tr><td>") == 8
    assert Elder.objects.count() == 3
