import django_filters
from django.db.models import Q

from backend.core.filters import BooleanFilter
from dispatch.models import (
    AlertKind,
    Complaint,
    ComplaintState,
    JobOffer,
    OfferState,
    OperatorAlert,
    RequestState,
    ServiceRequest,
    Visit,
)

SLA_MISSED = Q(accept_missed_at__isnull=False) | Q(arrive_missed_at__isnull=False)
UNTAKEN = Q(acknowledged_at__isnull=True, resolved_at__isnull=True)


class RequestFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=RequestState.choices, help_text="`escalated` is the operator queue"
    )
    sla_missed = BooleanFilter(
        method="filter_sla_missed",
        help_text="true: missed an accept or arrival target; false: missed neither",
    )

    class Meta:
        model = ServiceRequest
        fields = ["state", "sla_missed"]

    def filter_sla_missed(self, qs, name, value):
        return qs.filter(SLA_MISSED) if value else qs.exclude(SLA_MISSED)


class OfferFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=[*OfferState.choices, ("all", "Any state")],
        method="filter_state",
        help_text="`pending` unless given; `all` for every state",
    )

    class Meta:
        model = JobOffer
        fields = ["state"]

    def filter_state(self, qs, name, value):
        return qs if value == "all" else qs.filter(state=value)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("state"):
            queryset = queryset.filter(state=OfferState.PENDING)
        return queryset


class AlertFilter(django_filters.FilterSet):
    open = BooleanFilter(
        method="filter_open",
        help_text="true: nobody has taken them yet; false: taken or resolved",
    )
    unresolved = BooleanFilter(
        field_name="resolved_at",
        lookup_expr="isnull",
        help_text="true: the exception queue (taken or not, not yet resolved)",
    )
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)

    class Meta:
        model = OperatorAlert
        fields = ["open", "unresolved", "kind"]

    def filter_open(self, qs, name, value):
        return qs.filter(UNTAKEN) if value else qs.exclude(UNTAKEN)


class VisitExceptionFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        field_name="exception_state",
        choices=Visit._meta.get_field("exception_state").choices,
        help_text="`pending` is the supervisors' queue",
    )

    class Meta:
        model = Visit
        fields = ["state"]


class ComplaintFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=ComplaintState.choices, help_text="`open` is the queue"
    )

    class Meta:
        model = Complaint
        fields = ["state"]
