from django.contrib.postgres.fields import ArrayField
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat

from backend.accounts.models import Role, User
from backend.core.events import events_visible_to
from backend.core.models import Event
from elders.selectors import grants_live
from providers.selectors import worker_for_user

from .models import (
    OPEN_REQUEST_STATES,
    Complaint,
    JobOffer,
    OfferState,
    OperatorAlert,
    ServiceRequest,
    Visit,
)

GRANT_PREFIX = "request:"


def grant_reference(request_id: int) -> str:
    """What the access grant that a job gives its worker is filed under."""
    return f"{GRANT_PREFIX}{request_id}"


# What a work order shows of its elder (the order's `notes` count as the elder's: door codes,
# keys and care notes copied from care plans live there), by view.
ELDER_ON_ORDER: dict[str, list[str]] = {
    "hidden": ["id"],
    # A provider admin staffs the job; they do not go to the door or call ahead.
    "brief": ["id", "full_name", "gender", "address"],
    # Whoever goes (or answers for the elder) must find the door and call.
    "visit": ["id", "full_name", "gender", "phone", "address", "location", "notes"],
}
_VIEW_BY_ROLE_WHILE_GRANTED: dict[str, str] = {Role.WORKER: "visit", Role.PROVIDER_ADMIN: "brief"}


def _fields(view: str) -> Value:
    return Value(ELDER_ON_ORDER[view], output_field=ArrayField(CharField()))


def _elder_shown(user: User) -> Value | Case:
    """Which of the elder's fields (and whether the notes) the order shows this user, as the
    list `ELDER_ON_ORDER` names: everything to family and district staff always; to the
    assigned worker everything, and to a provider admin the brief view, exactly while the job's
    access grant is live for them (issued at accept or assignment, revoked when the job ends);
    only the elder's id otherwise."""
    view = _VIEW_BY_ROLE_WHILE_GRANTED.get(user.role)
    if view is None:
        return _fields("visit")
    reference = Concat(Value(GRANT_PREFIX), Cast(OuterRef("pk"), CharField()))
    granted = Exists(grants_live(user=user).filter(elder=OuterRef("elder_id"), reference=reference))
    return Case(When(granted, then=_fields(view)), default=_fields("hidden"))


def requests_visible_to(user: User) -> QuerySet[ServiceRequest]:
    """Staff: their district. Family: their elders. Worker: jobs assigned to them. Provider
    admin: their organisation's jobs. Each row carries `elder_shown`, the names of what it shows
    of the elder (see `_elder_shown`)."""
    qs = ServiceRequest.objects.select_related(
        "service_type", "elder", "assigned_worker", "responsible"
    ).annotate(elder_shown=_elder_shown(user))
    if user.is_district_staff:
        return qs.filter(district_id=user.staff_district_id)
    if user.role == Role.FAMILY:
        return qs.filter(elder__contacts__user=user).distinct()
    if user.role == Role.WORKER:
        return qs.filter(assigned_worker__user=user)
    if user.role == Role.PROVIDER_ADMIN:
        return qs.filter(assigned_provider__admins=user)
    return qs.none()


def offers_for_user(user: User, *, state: str | None = OfferState.PENDING) -> QuerySet[JobOffer]:
    """A worker's own offers; for a provider admin, whole jobs offered to their organisation."""
    mine = Q(worker__user=user)
    if user.role == Role.PROVIDER_ADMIN:
        mine = Q(worker__isnull=True, provider__admins=user)
    qs = JobOffer.objects.select_related("request__service_type").filter(mine)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-sent_at")


def request_visible(user: User, request_id: int) -> ServiceRequest | None:
    return requests_visible_to(user).filter(Q(pk=request_id)).first()


def no_show_of(*, request_id: int, user: User) -> Event | None:
    """The work order's latest no-show, if the job was taken from `user` (the worker it was
    assigned to when the sweeper found nobody had checked in); None otherwise. The one test of
    "this check-in comes after my no-show", for the API's access check and the service."""
    worker = worker_for_user(user_id=user.pk)
    if worker is None:
        return None
    return (
        Event.objects.filter(
            subject_type="request",
            subject_id=request_id,
            data__event="no_show",
            data__worker=worker.pk,
        )
        .order_by("-at", "-pk")
        .first()
    )


def request_for_staff(user: User, request_id: int) -> ServiceRequest | None:
    """The work order, for district staff of its district (who act on it as operators); None
    for anyone else."""
    if not user.is_district_staff:
        return None
    return request_visible(user, request_id)


# What happens to a work order is recorded on it and on the things it holds, each event under
# its own subject: its offers, alerts, visits and complaints.
_PARTS_OF_A_REQUEST = (
    ("offer", JobOffer),
    ("alert", OperatorAlert),
    ("visit", Visit),
    ("complaint", Complaint),
)


def request_timeline(user: User, request_id: int) -> QuerySet[Event]:
    """The work order's events as the user may see them, in the order they happened, with
    their actors: its own and those of its offers, alerts, visits and complaints (found by
    subject, on the events' subject index)."""
    subjects = Q(subject_type="request", subject_id=request_id)
    for subject_type, model in _PARTS_OF_A_REQUEST:
        ids = list(model.objects.filter(request_id=request_id).values_list("pk", flat=True))
        if ids:
            subjects |= Q(subject_type=subject_type, subject_id__in=ids)
    return events_visible_to(user).filter(subjects).select_related("actor").order_by("at", "pk")


def requests_possibly_duplicated(
    *, elder_id: int, service_type_id: int
) -> QuerySet[ServiceRequest]:
    """The elder's open requests of this service, newest first: a new one of the same service
    may duplicate them. Intake records the newest as the new order's `possible_duplicate_of`;
    the operator console warns before creating."""
    return ServiceRequest.objects.filter(
        elder_id=elder_id, service_type_id=service_type_id, state__in=OPEN_REQUEST_STATES
    ).order_by("-created_at", "-pk")


def alerts_for_staff(user: User) -> QuerySet[OperatorAlert]:
    """The alerts of the staff member's district (the caller checks the role), the latest
    raised first."""
    return (
        OperatorAlert.objects.filter(request__district_id=user.staff_district_id)
        .select_related("acknowledged_by", "resolved_by")
        .order_by("-raised_at")
    )
