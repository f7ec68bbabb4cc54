"""Play Twilio for an operator's call-back of an alarm, against a running platform: for trying
the call-back in development (the file backend places no call, it only writes it to
var/outbox.jsonl) and for demonstrations. Each webhook request is signed as Twilio signs it
and goes to the URL the platform gave (the call's Url and StatusCallback, the <Gather>'s
action, the <Dial>'s action and its <Number>'s statusCallback); it prints what the operator
hears and how the call-back ends.

    POST /api/v1/alarms/<id>/call-back/                  (as an operator with a phone)
    manage.py alarm_call_back                            (the latest one in progress)
    manage.py alarm_call_back --elder no-answer
    manage.py alarm_call_back --operator voicemail
"""

import uuid
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.telephony.backends import hook_url
from hotline.models import CALL_BACK_IN_PROGRESS, AlarmCallBack

from .hotline_call import twilio_request

OPERATOR_CHOICES = ("answers", "no-answer", "busy", "voicemail")
ELDER_CHOICES = ("answers", "no-answer", "busy", "failed")


class Command(BaseCommand):
    help = "Play Twilio for an alarm call-back (signed webhooks) and print what the operator hears."

    def add_arguments(self, parser):
        parser.add_argument("--call-back", type=int, help="its id (default: the latest running)")
        parser.add_argument("--operator", choices=OPERATOR_CHOICES, default="answers")
        parser.add_argument("--press", default="1", help="the key the operator presses")
        parser.add_argument("--elder", choices=ELDER_CHOICES, default="answers")
        parser.add_argument(
            "--server",
            default="http://127.0.0.1:8000",
            help="where the platform listens (requests are signed for ANXIN_PUBLIC_URL)",
        )

    def handle(self, *args, call_back, operator, press, elder, server, **options):
        if not settings.ANXIN_PUBLIC_URL or not settings.TWILIO_AUTH_TOKEN:
            raise CommandError("ANXIN_PUBLIC_URL and TWILIO_AUTH_TOKEN must be set")
        rows = AlarmCallBack.objects.order_by("-pk")
        if call_back is None:
            rows = rows.filter(state__in=CALL_BACK_IN_PROGRESS)
        else:
            rows = rows.filter(pk=call_back)
        found = rows.first()
        if found is None:
            raise CommandError(
                "no such call-back: start one with POST /api/v1/alarms/<id>/call-back/"
            )
        self.server, self.pk = server, found.pk
        self.leg = {
            "AccountSid": settings.TWILIO_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": found.call_sid or f"CA{uuid.uuid4().hex}",
            "Direction": "outbound-api",
            "From": settings.TWILIO_FROM_NUMBER,
        }
        self._status("ringing")
        if operator in ("no-answer", "busy"):
            self._status(operator)
        else:
            self._operator_answers(operator, press, elder)
        found.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(f"call-back {found.pk}: {found.state} {found.outcome}")
        )

    def _operator_answers(self, operator: str, press: str, elder: str) -> None:
        url = hook_url("call-back", step="answered", cb=self.pk)
        asked = self._post(url, {**self.leg, "CallStatus": "in-progress"})
        gather = asked.find("Gather")
        if operator == "voicemail" or gather is None:
            self.stdout.write("  (nobody presses a key)")
        else:
            self.stdout.write(f"  (presses {press})")
            action = urljoin(url, gather.get("action", ""))
            dial = self._post(action, {**self.leg, "Digits": press})
            if dial.find("Dial") is not None:
                self._elder(dial, elder)
        self._status("completed")

    def _elder(self, dial: Element, elder: str) -> None:
        number, verb = dial.find("Dial/Number"), dial.find("Dial")
        if number is None or verb is None:
            raise CommandError("the elder is not dialled")
        child = {
            **self.leg,
            "CallSid": f"CA{uuid.uuid4().hex}",
            "ParentCallSid": self.leg["CallSid"],
        }
        ends = {"answers": "completed"}.get(elder, elder)
        for status in ("initiated", "ringing", "in-progress", "completed"):
            if status == "in-progress" and elder != "answers":
                break
            self._post(number.get("statusCallback"), {**child, "CallStatus": status})
        if elder == "answers":
            self.stdout.write("  (the operator and the elder talk)")
        else:
            self._post(number.get("statusCallback"), {**child, "CallStatus": ends})
        ended = {**self.leg, "DialCallStatus": ends, "DialCallSid": child["CallSid"]}
        self._post(verb.get("action"), ended)

    def _post(self, url: str | None, params: dict) -> Element:
        if not url:
            raise CommandError("the answer names no URL to request next")
        return twilio_request(self, self.server, url, params)

    def _status(self, status: str) -> None:
        url = hook_url("call-back", step="status", cb=self.pk)
        self._post(url, {**self.leg, "CallStatus": status})
