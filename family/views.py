"""The family page (家属端): sign in with an SMS code, then the elders' visits."""

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from backend.accounts.addresses import client_address
from elders.limits import TooManyAttempts

from .access import family_user, family_view
from .forms import CodeForm, PhoneForm
from .names import given_name
from .selectors import family_elders_visits
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


@family_view
def home(request: HttpRequest) -> HttpResponse:
    elders = family_elders_visits(request.user)  # type: ignore[arg-type]  # family_view: a User
    for visits in elders:
        for row in [*visits.upcoming, *visits.past]:
            worker = row.assigned_worker
            row.caregiver = given_name(worker.full_name) if worker else ""  # type: ignore[attr-defined]
    return render(request, "family/home.html", {"elders": elders})
