"""Every SMS and every spoken outbound text is a template: a code, named parameters, and an
English gettext msgid whose translations (locale/) give the other languages. Domestic carriers
accept only registered templates, so the code and its parameters, not a finished text, are what
the notification log stores and the backends are given; the text is rendered per recipient
language at the last moment.

A parameter is a plain value, or a value per language, `{"en": "Meal", "zh-hans": "助餐"}`
(names kept in the database in both, or `per_language(label)` of a translated label); the
platform default's is used when the recipient's language is missing.

[Anxin] is the signature every SMS starts with (【安心】 in Chinese)."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext, gettext_noop, override

TEMPLATES: dict[str, str] = {
    # Families (emergency contacts who opted in to SMS)
    "sms.visit_check_in": gettext_noop(
        "[Anxin] The caregiver for %(elder)s's %(service)s arrived at %(time)s. Order %(reference)s"
    ),
    "sms.visit_check_out": gettext_noop(
        "[Anxin] %(elder)s's %(service)s was completed at %(time)s. Order %(reference)s"
    ),
    "sms.emergency_created": gettext_noop(
        "[Anxin] %(elder)s has asked for emergency help (order %(reference)s); an operator is "
        "handling it. If a life is in danger, call 120 at once."
    ),
    "sms.no_worker": gettext_noop(
        "[Anxin] No caregiver has taken %(elder)s's %(service)s request (order %(reference)s) "
        "yet; an operator is handling it. If a life is in danger, call 120 at once."
    ),
    "sms.non_arrival": gettext_noop(
        "[Anxin] The caregiver for %(elder)s's %(service)s (order %(reference)s) has not "
        "arrived; an operator is handling it. If a life is in danger, call 120 at once."
    ),
    "call.no_worker": gettext_noop(
        "This is Anxin. No caregiver has taken the %(service)s request of %(elder)s yet; an "
        "operator is handling it. If a life is in danger, call 120 at once."
    ),
    # A family member's sign-in code (family/services.py)
    "sms.family_sign_in_code": gettext_noop(
        "[Anxin] Your sign-in code is %(code)s. It expires in %(minutes)s minutes. "
        "Do not tell it to anyone."
    ),
    # The emergency call-out to contacts in priority order (dispatch)
    "call.callout_prompt": gettext_noop(
        "This is Anxin. %(elder)s has asked for emergency help and no caregiver has taken it. "
        "If you will take responsibility for helping, press 1."
    ),
    "call.callout_thanks": gettext_noop(
        "Thank you. You have taken responsibility for helping %(elder)s, and the operators "
        "know. If a life is in danger, call 120 at once."
    ),
    "alert.callout_nobody": gettext_noop(
        "No emergency contact of %(elder)s took responsibility (order %(reference)s). Call 120 now."
    ),
    # An emergency's alert to the operators
    "alert.call_120": gettext_noop("If a life is in danger, call 120 at once."),
    # Visit confirmation by the elder
    "call.visit_confirm": gettext_noop(
        "This is Anxin. Your caregiver for %(service)s has checked in at your home. "
        "If your caregiver has arrived, press 1."
    ),
    "call.visit_confirm_thanks": gettext_noop("Thank you. Goodbye."),
    "sms.visit_confirm": gettext_noop(
        "[Anxin] Your caregiver for %(service)s checked in at your home at %(time)s. "
        "If your caregiver has arrived, reply 1."
    ),
    # Workers: an offer by SMS, and the answers to a reply with its short code
    "sms.offer": gettext_noop(
        "[Anxin] New job: %(service)s at %(time)s, order %(reference)s. To accept, reply %(code)s."
    ),
    # The same where SMS replies are not read (ANXIN["SMS_REPLIES"] off: mainland China).
    "sms.offer_open_app": gettext_noop(
        "[Anxin] New job: %(service)s at %(time)s, order %(reference)s. Open the app to accept "
        "it (code %(code)s)."
    ),
    "sms_reply.accepted": gettext_noop(
        "[Anxin] Order %(reference)s is yours. The details are in the app."
    ),
    "sms_reply.unknown_code": gettext_noop(
        "[Anxin] That code does not match an open offer of yours. Please use the app."
    ),
    "sms_reply.taken": gettext_noop(
        "[Anxin] Order %(reference)s has already been taken or is no longer open."
    ),
    # A reply to an inbound SMS sent on its own (the webhook had answered before the SMS was
    # taken): the handler's reply, already in the sender's language.
    "sms_reply.text": gettext_noop("%(text)s"),
    # An operator's call-back of an alarm (hotline/alarm_call_back.py), said to the operator
    "call.alarm_call_back": gettext_noop(
        "Anxin alarm call-back: %(kind)s, %(elder)s, %(address)s, received at %(time)s. "
        "To call %(elder)s on their %(line)s now, press 1."
    ),
    "call.alarm_call_back_dialling": gettext_noop("Calling %(elder)s now. Please hold."),
    # Why the elder was not reached, then whose the alarm is now (one of the four after it).
    "call.alarm_call_back_no_answer": gettext_noop("%(elder)s did not answer."),
    "call.alarm_call_back_busy": gettext_noop("%(elder)s's line is busy."),
    "call.alarm_call_back_failed": gettext_noop("The call to %(elder)s could not be put through."),
    "call.alarm_call_back_yours": gettext_noop(
        "The alarm is still yours: dispatch help if in doubt."
    ),
    "call.alarm_call_back_colleagues": gettext_noop(
        "%(colleague)s has acknowledged the alarm and it is theirs: tell them what you heard."
    ),
    "call.alarm_call_back_unacknowledged": gettext_noop(
        "Nobody has acknowledged the alarm: acknowledge it to take it on; until someone does, "
        "it is sent again and the platform dispatches help."
    ),
    "call.alarm_call_back_closed": gettext_noop("The alarm has been closed."),
    "call.alarm_call_back_over": gettext_noop(
        "This call-back is over or could not be read. Call back again from the alarm. Goodbye."
    ),
    # Providers
    "sms.certificate_expiring": gettext_noop(
        "[Anxin] %(worker)s's %(certificate)s expires on %(date)s; after that they are no "
        "longer dispatched to services that need it."
    ),
}


class UnknownTemplate(KeyError):
    pass


# Parameters that are secrets (a sign-in code): kept on the notification's row only until the
# provider has the message, then replaced, so the log never holds a code someone could use.
SECRET_PARAMS: dict[str, frozenset[str]] = {"sms.family_sign_in_code": frozenset({"code"})}
REDACTED = "******"


def params_redacted(template: str, params: Mapping[str, Any]) -> dict[str, Any]:
    secret = SECRET_PARAMS.get(template, frozenset())
    return {key: REDACTED if key in secret else value for key, value in params.items()}


def render(template: str, params: Mapping[str, Any], language: str) -> str:
    """The text of `template` in `language`, with `params` filled in."""
    try:
        msgid = TEMPLATES[template]
    except KeyError:
        raise UnknownTemplate(template) from None
    with override(language):
        values = {name: _value(value, language) for name, value in params.items()}
        return gettext(msgid) % values


def per_language(text: Any) -> dict[str, str]:
    """A translatable text (a lazy choice label) as a parameter: its text in every language."""
    values = {}
    for code, _ in settings.LANGUAGES:
        with override(code):
            values[code] = str(text)
    return values


def _value(value: Any, language: str) -> Any:
    if not isinstance(value, Mapping):
        return value
    for choice in (language, settings.LANGUAGE_CODE, "en"):
        if choice in value:
            return value[choice]
    return next(iter(value.values()), "")


def template_check(template: str, params: Mapping[str, Any]) -> None:
    """Raise if `template` is unknown or `params` does not fill it (at the caller, not later
    in a Celery worker)."""
    render(template, params, settings.LANGUAGE_CODE)
