"""The family page, through Django's test client: a family member sees their own elders'
upcoming and past visits (time in Shanghai, the service's Chinese name, the state in words, the
caregiver's given name only) and never another family's; other roles and strangers are kept
out; sign-out is a POST."""

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dispatch.models import ServiceType
from family.names import given_name
from tests import factories as f
from tests.family.conftest import SHANGHAI, request_for, signed_in

pytestmark = pytest.mark.django_db

PAGE = "/family/"


def test_the_family_member_sees_their_elders_visits(family, elder, worker):
    soon = datetime.now(SHANGHAI).replace(microsecond=0) + timedelta(days=1)
    soon = soon.replace(hour=9, minute=30, second=0)
    upcoming = request_for(elder, start=soon, state="en_route", worker=worker)
    past = request_for(elder, start=soon - timedelta(days=3), state="completed", worker=worker)
    meal = ServiceType.objects.get(code="meal")

    html = signed_in(family).get(PAGE).content.decode()

    assert elder.full_name in html
    first, second = (
        html.index(f'data-request="{upcoming.pk}"'),
        html.index(f'data-request="{past.pk}"'),
    )
    assert html.index('data-list="upcoming"') < first < html.index('data-list="past"') < second
    assert meal.name_zh in html and meal.name not in html
    assert "T09:30:00+08:00" in html and "9:30</time>" in html  # Shanghai, whatever the server
    assert "小红" in html and "张小红" not in html
    assert "En route" not in html and "on_site" not in html


def test_states_and_services_are_in_words_in_english_too(family, elder, worker, english):
    start = datetime.now(SHANGHAI) + timedelta(hours=2)
    request_for(elder, start=start, state="on_site", worker=worker)

    html = signed_in(family, "en").get(PAGE).content.decode()

    assert "On site (checked in)" in html
    assert ServiceType.objects.get(code="meal").name in html
    assert "Caregiver: 小红" in html


def test_another_familys_elder_is_never_shown(family, elder, district):
    other_elder = f.ElderFactory(district=district, full_name="赵某某")
    other = f.UserFactory(role="family")
    f.ContactFactory(elder=other_elder, user=other)
    theirs = request_for(other_elder, start=datetime.now(SHANGHAI), state="assigned")
    mine = request_for(elder, start=datetime.now(SHANGHAI), state="assigned")

    html = signed_in(family).get(PAGE).content.decode()

    assert f'data-request="{mine.pk}"' in html
    assert f'data-request="{theirs.pk}"' not in html and "赵某某" not in html


@pytest.mark.parametrize("role", ["operator", "worker", "provider_admin", "supervisor"])
def test_other_roles_are_refused(role, district):
    user = f.UserFactory(
        role=role, district=district if role in ("operator", "supervisor") else None
    )

    answer = signed_in(user).get(PAGE)

    assert answer.status_code == 403


def test_an_inactive_family_member_is_not_let_in(family):
    client = signed_in(family)
    family.is_active = False
    family.save()

    answer = client.get(PAGE)

    assert answer.status_code == 302 and answer["Location"] == "/family/sign-in/"


def test_a_stranger_is_sent_to_the_sign_in():
    answer = Client().get(PAGE)

    assert answer.status_code == 302 and answer["Location"] == "/family/sign-in/"


def test_sign_out_is_a_post(family):
    client = signed_in(family)

    assert client.get("/family/sign-out/").status_code == 405
    assert client.post("/family/sign-out/").status_code == 302
    assert client.get(PAGE).status_code == 302


def test_the_page_has_no_inline_script_or_style(family, elder):
    html = signed_in(family).get(PAGE).content.decode()

    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for body in scripts)  # files only
    assert len(re.findall(r"<script src=", html)) == len(scripts)
    assert "style=" not in html and "<style" not in html
    assert "/static/family/family.css" in html and "/static/core/live.js" in html


@pytest.mark.parametrize(
    ("full", "given"),
    [
        ("张小红", "小红"),
        ("欧阳娜娜", "娜娜"),
        ("王芳", "芳"),
        ("Anna Smith", "Anna"),
        ("李", "李"),
    ],
)
def test_a_caregiver_is_named_by_the_given_name(full, given):
    assert given_name(full) == given


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_visits(family, elder, worker):
    client = signed_in(family)
    start = datetime.now(SHANGHAI)
    request_for(elder, start=start, state="assigned", worker=worker)
    request_for(elder, start=start - timedelta(days=1), state="completed", worker=worker)
    client.get(PAGE)  # the session is warm
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    for day in range(2, 8):
        request_for(elder, start=start + timedelta(days=day), state="assigned", worker=worker)
        request_for(elder, start=start - timedelta(days=day), state="completed", worker=worker)

    with CaptureQueriesContext(connection) as many:
        html = client.get(PAGE).content.decode()

    assert html.count('class="visit"') == 14
    assert len(many) == len(few)
