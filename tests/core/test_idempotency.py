import pytest

from dispatch.models import ServiceRequest
from tests.conftest import api

pytestmark = pytest.mark.django_db


def test_a_retried_create_with_the_same_key_makes_one_request(operator, elder):
    client = api(operator)
    body = {"elder": elder.pk, "service_type": "meal", "notes": "no salt"}

    first = client.post("/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post("/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ServiceRequest.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(operator, elder):
    client = api(operator)
    client.post(
        "/api/v1/requests/",
        {"elder": elder.pk, "service_type": "meal"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )

    other = client.post(
        "/api/v1/requests/",
        {"elder": elder.pk, "service_type": "cleaning"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert ServiceRequest.objects.count() == 1


def test_a_refused_request_does_not_use_up_the_key(operator, elder):
    client = api(operator)
    bad = client.post(
        "/api/v1/requests/",
        {"elder": elder.pk, "service_type": "nope"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )

    fixed = client.post(
        "/api/v1/requests/",
        {"elder": elder.pk, "service_type": "meal"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )

    assert bad.status_code == 400
    assert fixed.status_code == 201


def test_keys_belong_to_one_user(operator, elder, district):
    from tests import factories as f

    colleague = f.UserFactory(role="operator", district=district)
    body = {"elder": elder.pk, "service_type": "meal"}

    api(operator).post("/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")
    api(colleague).post("/api/v1/requests/", body, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert ServiceRequest.objects.count() == 2


def _form_post(key: str, **fields):
    from django.test import RequestFactory

    return RequestFactory().post("/console/requests/1/retry/", {"idempotency_key": key, **fields})


def test_a_form_posted_twice_with_its_key_goes_through_once(operator):
    from django.db import transaction

    from backend.core.idempotency import form_post_first

    with transaction.atomic():
        first = form_post_first(_form_post("f-1"), user_id=operator.pk, fields={"a": "1"})
    with transaction.atomic():
        again = form_post_first(_form_post("f-1"), user_id=operator.pk, fields={"a": "1"})

    assert (first, again) == (True, False)


def test_a_form_key_with_other_fields_is_refused_and_a_refused_first_frees_it(operator):
    from django.db import transaction

    from backend.core.idempotency import IdempotencyKeyReused, form_post_first

    with pytest.raises(RuntimeError), transaction.atomic():  # the first post's work failed
        form_post_first(_form_post("f-2"), user_id=operator.pk, fields={"a": "1"})
        raise RuntimeError
    with transaction.atomic():
        retried = form_post_first(_form_post("f-2"), user_id=operator.pk, fields={"a": "1"})

    assert retried is True
    with pytest.raises(IdempotencyKeyReused), transaction.atomic():
        form_post_first(_form_post("f-2"), user_id=operator.pk, fields={"a": "2"})


def test_a_form_without_a_key_is_always_a_first(operator):
    from backend.core.idempotency import form_post_first

    assert form_post_first(_form_post(""), user_id=operator.pk, fields={})
    assert form_post_first(_form_post(""), user_id=operator.pk, fields={})
