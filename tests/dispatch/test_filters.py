"""Dispatch's lists filter through django-filter FilterSets: each parameter is in the schema,
and a value the parameter does not take is a 400 naming it."""

import pytest
from django.utils import timezone
from django_filters import FilterSet

from dispatch.api import views
from dispatch.models import JobOffer, OfferState, ServiceRequest, ServiceType
from dispatch.services import request_match, service_request_create
from tests.conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(elder, make_worker, django_capture_on_commit_callbacks):
    """A meal offered to a worker and a bath nobody can give (in the operator queue)."""
    worker = make_worker(east_m=100, skills=["meal"])
    with django_capture_on_commit_callbacks(execute=True):
        offered = service_request_create(
            elder=elder,
            service_type=ServiceType.objects.get(code="meal"),
            channel="operator",
            caller=None,
        )
    queued = service_request_create(
        elder=elder,
        service_type=ServiceType.objects.get(code="bathing"),
        channel="operator",
        caller=None,
    )
    request_match(request_id=queued.pk)
    return {"worker": worker, "offered": offered.pk, "queued": queued.pk}


def ids(user, path, **params):
    response = api(user).get(path, params)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def refused(user, path, **params):
    response = api(user).get(path, params)
    assert response.status_code == 400, response.json()
    return set(response.json()["error"]["fields"])


@pytest.mark.parametrize(
    "view",
    [
        views.RequestListCreateView,
        views.OfferListView,
        views.AlertListView,
        views.VisitExceptionListView,
        views.ComplaintListView,
    ],
)
def test_every_dispatch_list_has_a_filterset(view):
    assert issubclass(view.filterset_class, FilterSet)
    assert view.filterset_class.__module__ == "dispatch.api.filters"


def test_the_operator_queue_is_a_state_filter(board, operator):
    assert ids(operator, "/api/v1/requests/", state="escalated") == [board["queued"]]
    assert refused(operator, "/api/v1/requests/", state="lost") == {"state"}


def test_sla_missed_filters_both_ways_and_refuses_anything_else(board, operator):
    ServiceRequest.objects.filter(pk=board["queued"]).update(accept_missed_at=timezone.now())

    assert ids(operator, "/api/v1/requests/", sla_missed="true") == [board["queued"]]
    assert ids(operator, "/api/v1/requests/", sla_missed="false") == [board["offered"]]
    assert refused(operator, "/api/v1/requests/", sla_missed="maybe") == {"sla_missed"}


def test_a_workers_offers_are_pending_unless_a_state_or_all_is_asked_for(board):
    worker = board["worker"].user
    offer = JobOffer.objects.get(request_id=board["offered"])

    assert ids(worker, "/api/v1/offers/") == [offer.pk]
    JobOffer.objects.filter(pk=offer.pk).update(state=OfferState.EXPIRED)
    assert ids(worker, "/api/v1/offers/") == []
    assert ids(worker, "/api/v1/offers/", state="expired") == [offer.pk]
    assert ids(worker, "/api/v1/offers/", state="all") == [offer.pk]
    assert refused(worker, "/api/v1/offers/", state="forgotten") == {"state"}


def test_alert_filters_refuse_values_they_do_not_take(board, operator):
    assert len(ids(operator, "/api/v1/alerts/", open="true", kind="no_worker")) == 1
    assert ids(operator, "/api/v1/alerts/", open="false") == []
    assert refused(operator, "/api/v1/alerts/", open="yes") == {"open"}
    assert refused(operator, "/api/v1/alerts/", unresolved="1x") == {"unresolved"}
    assert refused(operator, "/api/v1/alerts/", kind="meteor") == {"kind"}


@pytest.mark.parametrize(
    ("path", "good"),
    [("/api/v1/visits/exceptions/", "pending"), ("/api/v1/complaints/", "open")],
)
def test_queue_states_are_checked(path, good, board, operator):
    assert ids(operator, path, state=good) == []
    assert refused(operator, path, state="whatever") == {"state"}
