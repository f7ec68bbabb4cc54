"""The family page (家属端): sign in with an SMS code, then the elders' visits."""

from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.addresses import client_address
from dispatch.en_route import en_route_distances
from elders.limits import TooManyAttempts

from .access import family_user, family_view
from .forms import CodeForm, PhoneForm
from .names import given_name
from .progress import visit_progress
from .selectors import ElderVisits, family_elders_visits
from .services import CodeRefused, sign_in_code_send, sign_in_code_verify

SESSION_PHONE = "family_sign_in_phone"
# A code proves the phone; the session then holds an ordinary sign-in.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _too_many(
    request: HttpRequest, template: str, form: object, exc: TooManyAttempts
) -> HttpResponse:
    response = render(request, template, {"form": form, "error": exc.detail}, status=429)
    response["Retry-After"] = str(exc.wait)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if family_user(request) is not None:
        return redirect("family:home")
    form = PhoneForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "family/sign_in.html", {"form": form}, status=400)
        phone = form.cleaned_data["phone"]
        try:
            sign_in_code_send(phone=phone, address=client_address(request))
        except TooManyAttempts as exc:
            return _too_many(request, "family/sign_in.html", form, exc)
        request.session[SESSION_PHONE] = phone
        return redirect("family:sign-in-code")
    return render(request, "family/sign_in.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(SESSION_PHONE)
    if not phone:
        return redirect("family:sign-in")
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "phone_tail": phone[-4:]}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "family/sign_in_code.html", context, status=400)
        try:
            user = sign_in_code_verify(
                phone=phone, code=form.cleaned_data["code"], address=client_address(request)
            )
        except TooManyAttempts as exc:
            return _too_many(request, "family/sign_in_code.html", form, exc)
        except CodeRefused as exc:
            context["error"] = exc.detail
            return render(request, "family/sign_in_code.html", context, status=400)
        login(request, user, backend=SESSION_BACKEND)
        request.session.pop(SESSION_PHONE, None)
        return redirect("family:home")
    return render(request, "family/sign_in_code.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("family:sign-in")


def _shown(request: HttpRequest, *, elder_id: int | None = None) -> list[ElderVisits]:
    """The member's elders' visits as the page shows them: the caregiver's given name, the
    steps of a visit under way, and how far a caregiver on the way is (last-known position)."""
    elders = family_elders_visits(request.user, elder_id=elder_id)  # type: ignore[arg-type]
    upcoming = [row for visits in elders for row in visits.upcoming]
    distances = en_route_distances([row.pk for row in upcoming])
    for visits in elders:
        for row in [*visits.upcoming, *visits.past]:
            worker = row.assigned_worker
            row.caregiver = given_name(worker.full_name) if worker else ""  # type: ignore[attr-defined]
            row.progress = visit_progress(row.state) if row in upcoming else []  # type: ignore[attr-defined]
            row.en_route = distances.get(row.pk)  # type: ignore[attr-defined]
    return elders


@family_view
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "family/home.html", {"elders": _shown(request), "live": True})


@require_GET
@family_view
def elder_visits(request: HttpRequest, pk: int) -> HttpResponse:
    """One elder's visits alone: what the page asks for when one of their work orders moves."""
    found = _shown(request, elder_id=pk)
    if not found:
        raise Http404
    return render(request, "family/elder_visits.html", {"item": found[0]})
