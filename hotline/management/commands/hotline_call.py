"""Play Twilio against a running platform: dial a district's hotline from a number and press
keys, each webhook request signed as Twilio signs it, each next request the URL the previous
answer named. For trying the hotline in development and for demonstrations; it prints what the
caller would hear.

    manage.py hotline_call --from +8613912345678 --press 1
"""

import uuid
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import Request, urlopen
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.telephony.twilio_backend import signature_for
from hotline.models import HotlineNumber


class Command(BaseCommand):
    help = "Dial the hotline as Twilio would (signed webhooks) and print what the caller hears."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="caller", required=True, help="the caller, E.164")
        parser.add_argument("--to", default="", help="the hotline dialled (default: the first)")
        parser.add_argument("--press", default="", help="keys pressed at each menu, in order")
        parser.add_argument(
            "--server",
            default="http://127.0.0.1:8000",
            help="where the platform listens (requests are signed for ANXIN_PUBLIC_URL)",
        )

    def handle(self, *args, caller, to, press, server, **options):
        if not settings.ANXIN_PUBLIC_URL or not settings.TWILIO_AUTH_TOKEN:
            raise CommandError("ANXIN_PUBLIC_URL and TWILIO_AUTH_TOKEN must be set")
        number = to or str(HotlineNumber.objects.values_list("number", flat=True).first() or "")
        if not number:
            raise CommandError("no hotline number: add one in the admin (Hotline numbers)")
        call = {
            "AccountSid": settings.TWILIO_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": f"CA{uuid.uuid4().hex}",
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": caller,
            "To": number,
            "Caller": caller,
            "Called": number,
        }
        keys = list(press)
        url: str | None = f"{settings.ANXIN_PUBLIC_URL}/hooks/twilio/voice/"
        digits: dict[str, str] = {}
        while url is not None:
            answer = twilio_request(self, server, url, {**call, **digits})
            call["CallStatus"] = "in-progress"
            url, digits = self._next(url, answer, keys)

    def _next(self, url: str, answer: Element, keys: list[str]) -> tuple[str | None, dict]:
        """The request Twilio would make next, or None where the call would stay (a queue's
        hold) or end."""
        gather = answer.find("Gather")
        if gather is not None and gather.get("action"):
            digits = keys.pop(0) if keys else ""
            self.stdout.write(f"  (presses {digits or 'nothing'})")
            return urljoin(url, gather.get("action")), {"Digits": digits}
        if answer.find("Enqueue") is not None:
            self.stdout.write("  (holds in the queue: the call is in the operators' list now)")
        return None, {}


def twilio_request(command: BaseCommand, server: str, url: str, params: dict) -> Element:
    """POST `params` to `url` (on ANXIN_PUBLIC_URL) at `server`, signed as Twilio signs it; print
    what is said and done, and return the answer's TwiML."""
    parts = urlsplit(url)
    if urlsplit(server).scheme not in ("http", "https"):
        raise CommandError("--server must be an http:// or https:// address")
    local = urljoin(server, parts.path + (f"?{parts.query}" if parts.query else ""))
    request = Request(  # noqa: S310 (the scheme is checked above)
        local,
        data=urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature_for(url, params)},
        method="POST",
    )
    try:
        with urlopen(request, timeout=15) as response:  # noqa: S310 (our own server)
            body = response.read().decode()
    except HTTPError as error:
        raise CommandError(f"{parts.path}: HTTP {error.code}") from error
    command.stdout.write(command.style.MIGRATE_HEADING(f"POST {parts.path}"))
    root = fromstring(body)
    for element in root.iter():
        if element.tag == "Say" and element.text:
            command.stdout.write(f"  «{element.text}»")
        elif element.tag in ("Enqueue", "Dial", "Record", "Hangup", "Leave"):
            command.stdout.write(f"  <{element.tag}> {(element.text or '').strip()}")
    return root
