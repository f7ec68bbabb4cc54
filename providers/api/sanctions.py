"""The district's sanctions, the blacklist among them, with their history: every warning,
suspension and blacklisting decided, newest first, each with its provider's status now. Lifted
sanctions stay in the list (`lifted_at`): the rows are the history."""

import django_filters
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from backend.accounts.models import STAFF_ROLES, Role
from backend.core.permissions import require_role, signed_in
from providers.models import ProviderStatus, Sanction, SanctionKind
from providers.selectors import providers_visible_to

from .serializers import SanctionOutput


class SanctionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SanctionKind.choices)
    provider = django_filters.NumberFilter(field_name="provider_id", help_text="A provider's id")
    in_force = django_filters.BooleanFilter(
        field_name="lifted_at", lookup_expr="isnull", help_text="true: not lifted"
    )

    class Meta:
        model = Sanction
        fields = ["kind", "provider", "in_force"]


class SanctionListOutput(SanctionOutput):
    provider = serializers.IntegerField(source="provider_id")
    provider_name = serializers.CharField(source="provider.name")
    provider_status = serializers.ChoiceField(
        source="provider.status", choices=ProviderStatus.choices, help_text="Its status now"
    )

    class Meta(SanctionOutput.Meta):
        fields = [*SanctionOutput.Meta.fields, "provider", "provider_name", "provider_status"]


class SanctionListView(ListAPIView):
    """Sanctions of the providers the caller may see (district staff: their district's; a
    provider's admin: their organisation's), newest first. `?kind=blacklist` is the blacklist's
    history; a provider on it now has `provider_status` blacklisted."""

    serializer_class = SanctionListOutput
    filterset_class = SanctionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sanction.objects.none()
        user = signed_in(self.request)
        require_role(user, STAFF_ROLES | {Role.PROVIDER_ADMIN}, _("see sanctions"))
        visible = providers_visible_to(user)
        return (
            Sanction.objects.filter(provider__in=visible)
            .select_related("provider")
            .order_by("-decided_at", "-pk")
        )
