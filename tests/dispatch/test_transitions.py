"""The work order's table, written out here by hand: any change to the code's table must be
made twice, on purpose. Every (state, event) is tried by every kind of actor."""

import itertools

import pytest

from backend.core.errors import StateConflict
from dispatch import services
from dispatch.models import RequestState, ServiceRequest, ServiceType
from tests import factories as f

S, OP, W, F, P = "system", "operator", "worker", "family", "provider"
CANCELLABLE = ["new", "matching", "offered", "assigned", "en_route", "escalated"]
EXPECTED = {
    ("new", "match"): ("matching", {S}),
    ("escalated", "match"): ("matching", {S, OP}),
    ("matching", "offer"): ("offered", {S}),
    ("matching", "exhaust"): ("escalated", {S}),
    ("offered", "rematch"): ("matching", {S}),
    ("offered", "escalate"): ("escalated", {S}),
    ("offered", "accept"): ("assigned", {W, P}),
    ("offered", "override_assign"): ("assigned", {OP}),
    ("escalated", "override_assign"): ("assigned", {OP}),
    ("assigned", "assign_worker"): ("assigned", {P}),
    ("assigned", "set_out"): ("en_route", {W}),
    ("assigned", "check_in"): ("on_site", {W}),
    ("en_route", "check_in"): ("on_site", {W}),
    ("assigned", "no_show"): ("matching", {S}),
    ("en_route", "no_show"): ("matching", {S}),
    ("on_site", "check_out"): ("completed", {W}),
    ("completed", "close"): ("closed", {S, OP}),
    ("escalated", "fail"): ("failed", {S, OP}),
    **{(state, "cancel"): ("cancelled", {OP, F}) for state in CANCELLABLE},
}
STATES = [s.value for s in RequestState]
EVENTS = sorted({event for _, event in EXPECTED})
ACTORS = [S, OP, W, F, P]


def test_the_code_has_exactly_this_table():
    from dispatch.transitions import REQUEST_TRANSITIONS

    actual = {k: (str(to), set(who)) for k, (to, who) in REQUEST_TRANSITIONS.items()}
    assert actual == EXPECTED


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "event"), list(itertools.product(STATES, EVENTS)))
def test_every_change_is_allowed_or_refused_as_the_table_says(state, event):
    sr = services.service_request_create(
        elder=f.ElderFactory(),
        service_type=ServiceType.objects.get(code="meal"),
        channel="operator",
        caller=None,
    )
    expected = EXPECTED.get((state, event))
    for actor in ACTORS:
        ServiceRequest.objects.filter(pk=sr.pk).update(state=state)
        sr.refresh_from_db()
        if expected is None:
            with pytest.raises(StateConflict) as refused:
                services._request_move(sr, event, actor=None, by=actor)
            assert refused.value.extra["current_state"] == state
        elif actor not in expected[1]:
            with pytest.raises(services.NotAllowed):
                services._request_move(sr, event, actor=None, by=actor)
        else:
            services._request_move(sr, event, actor=None, by=actor)
            assert ServiceRequest.objects.get(pk=sr.pk).state == expected[0], actor
            continue
        assert ServiceRequest.objects.get(pk=sr.pk).state == state
