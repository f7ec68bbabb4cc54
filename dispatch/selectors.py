from django.db.models import BooleanField, CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from backend.accounts.models import Role, User
from elders.selectors import grants_live

from .models import JobOffer, OfferState, ServiceRequest

GRANT_PREFIX = "request:"


def grant_reference(request_id: int) -> str:
    """What the access grant that a job gives its worker is filed under."""
    return f"{GRANT_PREFIX}{request_id}"


def _elder_shown(user: User) -> Exists | Value:
    """Whether the order shows its elder (name, phone, address) and its notes: to family and
    district staff always; to a worker or a provider admin exactly while the job's access grant
    is live for them (issued at accept or assignment, revoked when the job ends)."""
    if user.role not in (Role.WORKER, Role.PROVIDER_ADMIN):
        return Value(True, output_field=BooleanField())
    reference = Concat(Value(GRANT_PREFIX), Cast(OuterRef("pk"), CharField()))
    return Exists(grants_live(user=user).filter(elder=OuterRef("elder_id"), reference=reference))


def requests_visible_to(user: User) -> QuerySet[ServiceRequest]:
    """Staff: their district. Family: their elders. Worker: jobs assigned to them. Each row
    carries `elder_shown` (see `_elder_shown`)."""
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
