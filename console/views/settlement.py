"""Settlement on the console (docs/district.md, "Settlement on the console"): the district's
providers with their monthly statements, the statement of a month that is over issued by a
district administrator, and an elder's entitlements per payer with their history (set by a
district administrator).

Everything goes through the settlement app's own pieces: roles (settlement/roles.py), the API's
serializers for input and output, the selectors for reads and the services for writes (which
write the audit events). The statements' CSV and XLSX are the API's own downloads, linked: the
API takes the console's session (with its second factor), so masking and the access log are
the API's, done once."""

from datetime import date, timedelta
from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.core.days import local_today
from console.access import console_user, console_view_for
from console.labels import CARE_LEVELS, CATEGORIES
from console.refusals import Acted, act_once, refusal_fields, refusal_message
from console.views.shell import page_context
from elders.api.filters import ElderFilter
from elders.api.serializers import ElderListOutput
from elders.models import Elder
from elders.selectors import elders_visible_to
from providers.models import ProviderStatus
from providers.selectors import providers_visible_to
from settlement import selectors, services
from settlement.api.serializers import (
    EntitlementInput,
    EntitlementOutput,
    StatementInput,
    StatementOutput,
)
from settlement.exports import PAYERS
from settlement.models import STATEMENT_FIELD, EntitlementUnit
from settlement.payers import PAYER_ORDER, Payer, payer_eligible
from settlement.roles import ADMIN, ENTITLEMENT_READERS, STATEMENT_READERS

# Provider admins read statements through the API; the console is district staff's only
# (console_view refuses everyone else), so here the readers are the district's admins.
statements_view = console_view_for(
    STATEMENT_READERS,
    refusal=gettext_lazy("Statements are for the district's administrators."),
)
issuing_view = console_view_for(
    ADMIN, refusal=gettext_lazy("Statements are issued by the district's administrators.")
)
entitlements_view = console_view_for(
    ENTITLEMENT_READERS,
    refusal=gettext_lazy("Entitlements are for supervisors and district administrators."),
)

SEARCH_RESULTS = 20
PAYER_LABELS = {str(payer.value): str(payer.label) for payer in Payer}
UNIT_LABELS = dict(EntitlementUnit.choices)
PROVIDER_STATUSES = dict(ProviderStatus.choices)
ENTITLEMENT_FIELDS = ("payer", "unit", "monthly", "valid_from", "note")


def _user(request: HttpRequest) -> User:
    user = console_user(request)
    assert user is not None  # console_view let the request in
    return user


def last_month() -> date:
    """The month before this one (Asia/Shanghai): the latest that can be settled."""
    return selectors.month_first(selectors.month_first(local_today()) - timedelta(days=1))


# Statements ---------------------------------------------------------------------------------


def _month_asked(raw: str) -> tuple[date, dict[str, list[str]]]:
    """The month of `?month=` through the API's own field; the last month when none or bad."""
    if not raw:
        return last_month(), {}
    data = StatementInput(data={"month": raw})
    if not data.is_valid():
        return last_month(), {k: [str(m) for m in v] for k, v in data.errors.items()}
    return data.validated_data["month"], {}


def _statements_context(user: User, month: date) -> dict[str, Any]:
    """The district's providers with the month's statement (the API's output) or, for a month
    that is over, the button that issues it; and the months with statements, newest first."""
    statements = selectors.statements_visible_to(user)
    issued = {
        row["provider"]: row
        for row in StatementOutput(statements.filter(month=month), many=True).data
    }
    for row in issued.values():
        row["shares"] = [row[STATEMENT_FIELD[payer]] for payer in PAYERS]
        row["csv_url"] = reverse("statement-csv", args=[row["id"]])
        row["xlsx_url"] = reverse("statement-xlsx", args=[row["id"]])
    providers = [
        {**p, "status_label": PROVIDER_STATUSES.get(p["status"], p["status"])}
        for p in providers_visible_to(user).order_by("name", "pk").values("pk", "name", "status")
    ]
    months = statements.order_by().values("month").annotate(issued=Count("pk")).order_by("-month")
    return {
        "month": month,
        "month_label": f"{month:%Y-%m}",
        "month_over": month < selectors.month_first(local_today()),
        "payer_columns": [str(payer.label) for payer in PAYERS],
        "rows": [{**p, "statement": issued.get(p["pk"])} for p in providers],
        "months": [(f"{m['month']:%Y-%m}", m["issued"]) for m in months],
        "may_issue": user.role in ADMIN,
        "reads_entitlements": user.role in ENTITLEMENT_READERS,
    }


def _statements_page(
    request: HttpRequest,
    month: date,
    *,
    errors: dict[str, list[str]] | None = None,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    context = page_context(request, "district") | _statements_context(user, month)
    context.update(errors=errors or {}, notice=notice, error=error)
    return render(request, "console/settlement/page.html", context, status=status)


@require_GET
@statements_view
def settlement_page(request: HttpRequest) -> HttpResponse:
    month, errors = _month_asked(request.GET.get("month", "").strip())
    return _statements_page(request, month, errors=errors, status=400 if errors else 200)


@require_POST
@issuing_view
def statement_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue the provider's statement for the posted month, once per form (its idempotency
    key): a second click answers "already done", a later form the service's 409. A refusal
    (month not over, already issued, a bad month) is the page with the service's words."""
    user = _user(request)
    provider = get_object_or_404(providers_visible_to(user), pk=pk)
    month, _errors = _month_asked(request.POST.get("month", "").strip())
    acted = act_once(
        request,
        user,
        lambda values: services.statement_issue(
            actor=user, provider=provider, month=values["month"]
        ),
        StatementInput,
    )
    if acted.refused is not None:
        refused = acted.refused
        # A sentence (month not over, already issued) is said once; a serializer's refusal
        # names its fields below the sentence.
        return _statements_page(
            request,
            month,
            errors=refusal_fields(refused) if isinstance(refused.detail, dict) else {},
            error=refusal_message(refused),
            status=refused.status_code,
        )
    done = _("The statement of %(provider)s for %(month)s is issued.") % {
        "provider": provider.name,
        "month": f"{month:%Y-%m}",
    }
    return _statements_page(request, month, notice=acted.notice(done))


# Entitlements -------------------------------------------------------------------------------


@require_GET
@entitlements_view
def entitlements_search(request: HttpRequest) -> HttpResponse:
    """Elders by a name fragment or a phone number: the elder list's own filter (`?q=`) on what
    the user may see."""
    user = _user(request)
    typed = request.GET.get("q", "").strip()[:100]
    found: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    if typed:
        search = ElderFilter(
            {"q": typed}, queryset=elders_visible_to(user).order_by("full_name", "pk")
        )
        if search.is_valid():
            found = list(ElderListOutput(search.qs[: SEARCH_RESULTS + 1], many=True).data)
        else:  # e.g. a NUL typed: said, rather than every elder listed
            errors = {name: [str(m) for m in messages] for name, messages in search.errors.items()}
    context = page_context(request, "district") | {
        "q": typed,
        "errors": errors,
        "found": [_elder_row(row) for row in found[:SEARCH_RESULTS]],
        "more": len(found) > SEARCH_RESULTS,
        "may_read_statements": user.role in STATEMENT_READERS,
    }
    return render(request, "console/settlement/search.html", context, status=400 if errors else 200)


def _elder_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "care_label": CARE_LEVELS.get(row["care_level"], ""),
        "category_labels": [str(CATEGORIES.get(c, c)) for c in row["categories"]],
        "url": reverse("console:elder-entitlements", args=[row["id"]]),
    }


def _entitlements_context(user: User, elder: Elder) -> dict[str, Any]:
    """The elder's entitlement in force today per payer (and one set to start later), whether
    the file qualifies for each payer, and every entitlement ever set (the history)."""
    today = local_today()
    history = list(EntitlementOutput(selectors.entitlements_of(elder_id=elder.pk), many=True).data)
    in_force = {
        e.payer: e.pk
        for e in selectors.entitlements_in_force(elder_ids=[elder.pk], first=today, last=today)
    }
    setters = dict(
        User.objects.filter(pk__in={row["set_by"] for row in history}).values_list("pk", "username")
    )
    for row in history:
        row["payer_label"] = PAYER_LABELS.get(row["payer"], row["payer"])
        row["unit_label"] = UNIT_LABELS.get(row["unit"], row["unit"])
        row["set_by_name"] = setters.get(row["set_by"], "")
        row["in_force"] = in_force.get(row["payer"]) == row["id"]
    payers = []
    for payer in PAYER_ORDER:
        rows = [row for row in history if row["payer"] == payer]
        payers.append(
            {
                "code": payer.value,
                "label": str(payer.label),
                "eligible": payer_eligible(payer=payer, elder=elder),
                "current": next((row for row in rows if row["in_force"]), None),
                "later": next(
                    (row for row in rows if date.fromisoformat(row["valid_from"]) > today), None
                ),
            }
        )
    return {
        "elder": _elder_row(ElderListOutput(elder).data),
        "payers": payers,
        "history": history,
        "today": today,
        "may_set": user.role in ADMIN,
        "payer_choices": [(p.value, str(p.label)) for p in PAYER_ORDER],
        "unit_choices": [(value, str(label)) for value, label in EntitlementUnit.choices],
    }


def _entitlements_page(
    request: HttpRequest,
    elder: Elder,
    *,
    values: dict[str, str] | None = None,
    acted: Acted | None = None,
) -> HttpResponse:
    user = _user(request)
    context = page_context(request, "district") | _entitlements_context(user, elder)
    status = 200
    context.update(values=values or {}, field_errors={}, error="", notice="")
    if acted is not None and acted.refused is not None:
        context.update(
            field_errors=refusal_fields(acted.refused), error=refusal_message(acted.refused)
        )
        status = acted.refused.status_code
    elif acted is not None:
        context["notice"] = acted.notice(_("The entitlement is set."))
        context["values"] = {}
    return render(request, "console/settlement/elder.html", context, status=status)


@require_http_methods(["GET", "POST"])
@entitlements_view
def elder_entitlements(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the elder's entitlements. POST (district administrators): a new one, through the
    API's input serializer and settlement.services.entitlement_set, once per form."""
    user = _user(request)
    elder = get_object_or_404(elders_visible_to(user), pk=pk)
    if request.method != "POST":
        return _entitlements_page(request, elder)
    values = {name: request.POST.get(name, "") for name in ENTITLEMENT_FIELDS}
    if user.role not in ADMIN:
        return render(
            request,
            "console/forbidden.html",
            {"refusal": _("Entitlements are set by the district's administrators.")},
            status=403,
        )
    acted = act_once(
        request,
        user,
        lambda data: services.entitlement_set(actor=user, elder=elder, **data),
        EntitlementInput,
    )
    return _entitlements_page(request, elder, values=values, acted=acted)
