"""The work order's table, written out here by hand: any change to the code's table must be
made twice, on purpose."""

import itertools

import pytest

from backend.core.errors import StateConflict
from dispatch import services
from dispatch.models import RequestState, ServiceRequest, ServiceType
from tests import factories as f

EXPECTED = {
    ("new", "match"): "matching",
    ("escalated", "match"): "matching",
    ("matching", "offer"): "offered",
    ("matching", "exhaust"): "escalated",
    ("offered", "rematch"): "matching",
    ("offered", "accept"): "assigned",
    ("assigned", "assign_worker"): "assigned",
    ("assigned", "check_in"): "on_site",
    ("on_site", "check_out"): "completed",
    ("new", "cancel"): "cancelled",
    ("matching", "cancel"): "cancelled",
    ("offered", "cancel"): "cancelled",
    ("assigned", "cancel"): "cancelled",
    ("escalated", "cancel"): "cancelled",
}
STATES = [s.value for s in RequestState]
EVENTS = sorted({event for _, event in EXPECTED})


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "event"), list(itertools.product(STATES, EVENTS)))
def test_every_change_is_allowed_or_refused_as_the_table_says(state, event):
    elder = f.ElderFactory()
    sr = services.service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=None,
    )
    ServiceRequest.objects.filter(pk=sr.pk).update(state=state)
    sr.refresh_from_db()
    expected = EXPECTED.get((state, event))

    if expected is None:
        with pytest.raises(StateConflict) as refused:
            services._request_move(sr, event, actor=None)
        assert refused.value.extra["current_state"] == state
        assert ServiceRequest.objects.get(pk=sr.pk).state == state
    else:
        services._request_move(sr, event, actor=None)
        assert ServiceRequest.objects.get(pk=sr.pk).state == expected


def test_the_table_names_only_real_states():
    from dispatch.transitions import REQUEST_TRANSITIONS

    assert {k: str(v) for k, v in REQUEST_TRANSITIONS.items()} == EXPECTED
