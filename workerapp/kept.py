"""What every worker app page tells visits.js, which sends the check-ins and check-outs the phone
keeps (visit-queue.js) for the signed-in worker, lists them on the home page, and warns at
sign-out while any waits: who is signed in (the phone sends only their attempts), the session's
CSRF token, how often to try again, and the sentences in the page's language."""

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.translation import gettext as _

from .access import worker_user

# How often a page tries again to send what the phone keeps (besides when the browser says it
# is online again, and on every page load); an answer asking to wait makes that attempt wait
# longer (visit-queue.js).
RETRY_EVERY_MS = 12_000


def visits_config(request: HttpRequest) -> dict[str, object]:
    user = worker_user(request)
    return {
        "user": user.pk if user is not None else None,
        "csrf": get_token(request) if user is not None else "",
        "retry_every_ms": RETRY_EVERY_MS,
        "sign_out_url": reverse("workerapp:sign-out"),
        "texts": {
            "check_in": _("check-in"),
            "check_out": _("check-out"),
            "item": _("%(job)s, %(kind)s at %(time)s:"),
            "why_offline": _("saved on the phone, will send when the connection returns."),
            "why_not_reached": _(
                "saved on the phone: the network answered instead of the server (a Wi-Fi "
                "sign-in page?); will send again."
            ),
            "why_server": _(
                "saved on the phone: the server could not take it just now; will send again."
            ),
            "why_busy": _("saved on the phone: the server is busy; will send again shortly."),
            "why_signed_out": _("saved on the phone: sign in again to send it."),
            "refused": _("not accepted: %(reason)s"),
            "dismiss": _("OK"),
            "sign_out_waiting": _(
                "%(count)s check-in or check-out not sent yet is saved on this phone. Signed "
                "out, it is sent only when you sign in again on this phone. Sign out anyway?"
            ),
        },
    }
