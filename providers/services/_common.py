"""What every write of the provider registry shares: its data error, its audit row."""

from typing import Any

from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.errors import DomainError
from backend.core.events import event_record

from ..credit_code import InvalidCreditCode, parse_credit_code
from ..models import (
    Provider,
)


class ProviderDataError(DomainError):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(
            _("The provider's data has invalid fields."), code="invalid", fields=fields
        )


def _admin_ids(provider: Provider) -> list[int]:
    return list(provider.admins.values_list("pk", flat=True))


def _record(provider: Provider, kind: str, actor: User | None, **extra: Any) -> None:
    event_record(
        kind=kind,
        subject_type="provider",
        subject_id=provider.pk,
        actor=actor,
        district_id=provider.district_id,
        recipients=_admin_ids(provider),
        **extra,
    )


def _credit_code(value: str | None) -> str | None:
    """The code in its canonical form; blank clears it."""
    if not value:
        return None
    try:
        return parse_credit_code(value)
    except InvalidCreditCode as exc:
        raise ProviderDataError({"credit_code": [exc.reason]}) from None
