"""How many ID numbers could an elder have, to someone who sees everything one role is shown?

The model (issue 10): a person holding one role's account reads everything that role can GET
about an elder (every endpoint under /api/v1/: lists, the map, caller lookup, the file and its
parts, work orders, offers, the events feed; the reveal endpoint excepted) and knows the
district's division codes. Every role that cannot reveal the number must leave that person with
at least 10,000 possible ID numbers.

A resident ID (GB 11643-1999) is a 6-digit division code, an 8-digit birth date, a 3-digit
sequence whose last digit is odd for a man and even for a woman, and a check character
(ISO 7064 MOD 11-2) over the first 17. The guesser below is written from the standard, not from
the code under test.
"""

import re
from collections.abc import Iterator
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from backend.urls import api_v1
from elders import services
from tests import factories as f
from tests.conftest import api
from tests.elders import ids

pytestmark = pytest.mark.django_db

ENOUGH = 10_000
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"
ELDER_ID = ids.FEMALE_1940  # 220104 19400315 002 1
BORN = date(1940, 3, 15)
SHOWN_MASKED = re.compile(r"^[0-9X*]{18}$")


def guesses(*, regions, birth_dates, female, patterns=(), cap=10 * ENOUGH) -> list[str]:
    """Every ID number consistent with what was seen, up to `cap`."""
    found = []
    for region in sorted(regions):
        for born in sorted(birth_dates):
            head = region + born.strftime("%Y%m%d")
            for seq in range(0 if female else 1, 1000, 2):
                body = head + f"{seq:03d}"
                value = body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]
                if all(_fits(value, p) for p in patterns):
                    found.append(value)
                    if len(found) >= cap:
                        return found
    return found


def _fits(value: str, pattern: str) -> bool:
    """A pattern is aligned to the end of the number; '*' hides a character."""
    tail = value[len(value) - len(pattern) :]
    return all(p in ("*", v) for p, v in zip(pattern, tail))


def test_the_guesser_pins_the_number_from_a_masked_id_and_a_birth_date():
    # What an operator was shown before issue 10: the masked number beside the birth date.
    pinned = guesses(
        regions={"220104"}, birth_dates={BORN}, female=True, patterns=["220***********0021"]
    )
    by_birth_date = guesses(regions={"220104"}, birth_dates={BORN}, female=True)

    assert pinned == [ELDER_ID]
    assert len(by_birth_date) == 500


# What a role is shown -------------------------------------------------------------------------


def _routes(patterns, prefix="") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def everything_shown(user, ids_by_resource: dict[str, int], phone: str) -> list:
    """The JSON of every GET under /api/v1/ that answers this user 200."""
    shown = []
    client = api(user)
    for route in _routes(api_v1):
        if "reveal" in route:
            continue
        resource = route.split("/")[0]
        path = route.replace("<int:pk>", str(ids_by_resource.get(resource, 0)))
        response = client.get(
            f"/api/v1/{path}",
            {"purpose": "curious", "phone": phone, "after": 0, "page_size": 200},
        )
        if response.status_code == 200 and response.get("Content-Type", "").startswith(
            "application/json"
        ):
            shown.append(response.json())
    return shown


def _pairs(value, key="") -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _pairs(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _pairs(v, key)
    else:
        yield key, value


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def candidates_from(shown: list, *, regions: set[str]) -> list[str]:
    """What the reader can narrow the number to. Conservative: the sex and the exact division
    code of the birthplace are taken as known whatever was shown."""
    today = timezone.localtime(timezone=ZoneInfo("Asia/Shanghai")).date()
    dates = {today - timedelta(days=n) for n in range(60 * 365, 101 * 366)}  # aged 60 to 100
    dates = {d for d in dates if 60 <= _age_on(d, today) <= 100}
    patterns = []
    for key, value in _pairs(shown):
        if isinstance(value, str):
            if ELDER_ID[:17] in value:
                return [ELDER_ID]
            if any(form in value for form in ("1940-03-15", "19400315", "1940/03/15")):
                dates &= {BORN}
            masked = SHOWN_MASKED.match(value) and "*" in value
            if masked or ("id_number" in key and re.fullmatch(r"[0-9X*]{1,17}", value)):
                patterns.append(value)
        if key == "age" and isinstance(value, int) and not isinstance(value, bool):
            dates = {d for d in dates if _age_on(d, today) == value}
    return guesses(regions=regions, birth_dates=dates, female=True, patterns=patterns)


@pytest.fixture
def seen_by(district, operator, make_worker, django_capture_on_commit_callbacks):
    """An elder with a full file and a live work order; returns what each role is shown."""
    elder = services.elder_create(
        actor=operator,
        district_id=district.pk,
        full_name="李桂兰",
        gender="female",
        birth_date=BORN,
        phone="+8613800138001",
        landline="+8643188881234",
        address="长春市朝阳区湖西路 3 号",
        location=f.point(*f.HOME),
        division_code="220104002003",
        living_arrangement="alone",
        categories=["advanced_age"],
        id_number=ELDER_ID,
    )
    family = f.UserFactory(role="family")
    f.ContactFactory(elder=elder, user=family, phone="+8613900139001")
    services.health_profile_write(elder=elder, user=operator, allergies="penicillin")
    services.assessment_record(
        elder=elder,
        actor=operator,
        assessed_on=date(2026, 1, 5),
        assessor_name="评估员 张",
        self_care=20,
        basic_motor=10,
        mental_state=25,
        perception_social=10,
    )
    worker = make_worker(east_m=50)
    provider_admin = f.UserFactory(role="provider_admin")
    worker.provider.admins.add(provider_admin)
    with django_capture_on_commit_callbacks(execute=True):
        request_id = (
            api(operator)
            .post("/api/v1/requests/", {"elder": elder.pk, "service_type": "meal"}, format="json")
            .json()["id"]
        )
    with django_capture_on_commit_callbacks(execute=True):
        offer = worker.offers.get()
        api(worker.user).post(f"/api/v1/offers/{offer.pk}/accept/")
    users = {
        "operator": operator,
        "family": family,
        "worker": worker.user,
        "provider_admin": provider_admin,
    }
    ids_by_resource = {
        "elders": elder.pk,
        "requests": request_id,
        "offers": offer.pk,
        "providers": worker.provider_id,
        "workers": worker.pk,
    }

    def shown(role: str) -> list:
        return everything_shown(users[role], ids_by_resource, phone=str(elder.phone))

    return shown


@pytest.mark.parametrize("role", ["operator", "family", "worker", "provider_admin"])
def test_a_role_that_cannot_reveal_leaves_at_least_10000_possible_id_numbers(role, seen_by):
    # Given everything this role is shown about the elder, and the district's division codes
    shown = seen_by(role)
    assert "李桂兰" in str(shown), "the role saw nothing of the elder: the test proves nothing"

    # When the reader lists every ID number consistent with it
    left = candidates_from(shown, regions={"220104"})

    # Then at least 10,000 remain
    print(f"{role}: {len(left)}{'+' if len(left) >= 10 * ENOUGH else ''} candidates")
    assert len(left) >= ENOUGH, f"{role} narrows the ID number to {len(left)}"
