"""Shared situations of the family page's tests."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from dispatch import services
from dispatch.models import ServiceRequest, ServiceType
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def request_for(elder, *, start: datetime, state: str, worker=None, code: str = "meal"):
    """A work order of `elder` put straight into `state` (the page only reads it)."""
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code=code),
        channel="operator",
        caller=None,
        window_start=start,
        window_end=start + timedelta(hours=1),
    )
    ServiceRequest.objects.filter(pk=sr.pk).update(state=state, assigned_worker=worker)
    return sr


def signed_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def form_key(html: str) -> str:
    """The idempotency key a rendered form carries (`{% idempotency_field %}`)."""
    found = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html)
    assert found, "the form carries no idempotency key"
    return found.group(1)


@pytest.fixture
def worker(district):
    return f.WorkerFactory(full_name="张小红", provider__district=district)


@pytest.fixture
def stranger(district):
    """Another family, with an elder of their own in the same district."""
    elder = f.ElderFactory(district=district, full_name="赵某某")
    user = f.UserFactory(role="family")
    f.ContactFactory(elder=elder, user=user)
    return user, elder
