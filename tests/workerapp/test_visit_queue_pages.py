"""The phone's kept check-ins and check-outs on every worker app page (issue 15's review): each
page loads the queue and its sender with the signed-in worker's id (only their attempts are
sent), the home page has the card that lists them, the job page names its job for that card,
and the sign-in page says nobody is signed in. The service worker keeps the sender's script."""

import pytest

from tests.conftest import api

from .test_visit import DOOR, accepted, config, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(operator, elder, make_worker, django_capture_on_commit_callbacks):
    worker = make_worker(east_m=30)
    return accepted(operator, elder, worker, django_capture_on_commit_callbacks), worker


def scripts(page) -> str:
    return page.content.decode()


def test_the_home_page_loads_the_queue_for_the_signed_in_worker_and_has_its_card(job):
    _sr, worker = job

    page = signed_in(worker.user).get("/worker/")

    assert page.status_code == 200
    kept = config(page, "visits-config")
    assert kept["user"] == worker.user.pk
    assert kept["csrf"] and kept["sign_out_url"] == "/worker/sign-out/"
    assert 'id="visits-kept"' in scripts(page)
    assert "workerapp/visit-queue.js" in scripts(page) and "workerapp/visits.js" in scripts(page)


def test_the_job_page_names_the_job_for_the_home_card_and_loads_the_queue_once(job):
    sr, worker = job

    page = signed_in(worker.user).get(f"/worker/jobs/{sr}/")

    assert config(page, "visits-config")["user"] == worker.user.pk
    visit = config(page)
    assert visit["label"].startswith("Meal") or visit["label"].startswith("助餐")
    assert "csrf" not in visit, "one token, in the config every page has"
    assert scripts(page).count("workerapp/visit-queue.js") == 1
    assert "workerapp/visit.js" in scripts(page)


def test_the_sign_in_page_says_nobody_is_signed_in(client):
    page = client.get("/worker/sign-in/")

    kept = config(page, "visits-config")
    assert kept["user"] is None and kept["csrf"] == ""


def test_the_service_worker_keeps_the_sender_and_imports_the_queue(client):
    script = client.get("/worker/sw.js").content.decode()

    assert "/static/workerapp/visits.js" in script
    assert 'importScripts("/static/workerapp/visit-queue.js")' in script


def test_the_api_check_in_answer_has_the_fields_the_queue_checks(job):
    """visit-queue.js drops an attempt only on this shape (`visit`, and `checked_in_at` or
    `checked_out_at`): anything else stays waiting."""
    sr, worker = job
    door = {"location": {"type": "Point", "coordinates": list(DOOR.coords)}}
    checked_in = api(worker.user).post(f"/api/v1/requests/{sr}/check-in/", door, format="json")
    checked_out = api(worker.user).post(f"/api/v1/requests/{sr}/check-out/", door, format="json")

    assert isinstance(checked_in.json()["visit"], int)
    assert isinstance(checked_in.json()["checked_in_at"], str)
    assert isinstance(checked_out.json()["visit"], int)
    assert isinstance(checked_out.json()["checked_out_at"], str)
