from django.db.models import Q, QuerySet

from backend.accounts.models import Role, User

from .models import JobOffer, OfferState, ServiceRequest


def requests_visible_to(user: User) -> QuerySet[ServiceRequest]:
    """Staff: their district. Family: their elders. Worker: jobs assigned to them."""
    qs = ServiceRequest.objects.select_related(
        "service_type", "elder", "assigned_worker", "responsible"
    )
    if user.is_district_staff:
        return qs.filter(district_id=user.district_id)
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
