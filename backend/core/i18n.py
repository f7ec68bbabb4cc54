"""Which language a person gets: their own setting, else the platform's (zh-hans).

A response to a request is in, first to last: the signed-in user's own setting (User.language),
the request's Accept-Language, LANGUAGE_CODE. LocaleMiddleware picks from the last two; the
user's setting then wins through `user_language_activate`, called where a user is known: the
middleware below for a session (pages, the admin, the API from a browser) and the API's token
authentication (backend/accounts/authentication.py), since a JWT is read only inside DRF.
A text or call to a phone number has no request: the sender asks `language_for_phone` for the
recipient's language and renders inside `translation.override(...)`.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from phonenumber_field.phonenumber import PhoneNumber, to_python

from backend.accounts.models import User


def platform_language() -> str:
    return str(settings.LANGUAGE_CODE)


def language_supported(code: str) -> bool:
    return code in {language for language, _ in settings.LANGUAGES}


def language_for_user(user: object) -> str:
    """A user's own language, else the platform's (also for anonymous users and None)."""
    code = getattr(user, "language", "") or ""
    return code if language_supported(code) else platform_language()


def language_for_phone(phone: PhoneNumber | str) -> str:
    """The language of whoever has an account behind this number: a user's registered phone, a
    worker's phone or second phone, a family contact's phone or second phone (a contact with a
    family account). Anyone else (an elder, a contact without an account, an unknown number):
    the platform's. One query; when several accounts share the number, the oldest with a
    language set decides."""
    number = to_python(phone)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return platform_language()
    e164 = number.as_e164
    speakers = User.objects.filter(is_active=True).exclude(language="")
    # A union, not an OR across joins: each branch walks its own phone index.
    branches = [
        speakers.filter(**{lookup: e164}).values_list("pk", "language")
        for lookup in (
            "phone",
            "worker__phone",
            "worker__alt_phone",
            "elder_contacts__phone",
            "elder_contacts__alt_phone",
        )
    ]
    found = branches[0].union(*branches[1:], all=True).order_by("pk").first()
    code = found[1] if found else ""
    return code if code and language_supported(code) else platform_language()


def user_language_activate(request: HttpRequest, user: object) -> None:
    """For the rest of this request, the user's own language, when they chose one (over
    Accept-Language). LocaleMiddleware's Content-Language then names it."""
    code = getattr(user, "language", "") or ""
    if language_supported(code):
        translation.activate(code)
        request.LANGUAGE_CODE = code


class UserLanguageMiddleware:
    """After LocaleMiddleware and the session's user (AuthenticationMiddleware, OTPMiddleware).
    A request without a session cookie costs nothing here: its user is anonymous unread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            user_language_activate(request, request.user)
        return self.get_response(request)
