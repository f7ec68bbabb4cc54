"""The hotline's first answer under load: signed `POST /hooks/twilio/voice/` requests, as Twilio
makes them when calls arrive, against the running platform (`deploy/up`), at a given
concurrency. Half the callers are the district's elders (looked up, the menu answered), half
unknown numbers (looked up, queued). Prints calls/s, latency percentiles and errors (anything
but 200 with TwiML). The calls the run made, and their events, are deleted at the end.

The client runs on the same machine as the platform and takes CPU from it: the figures are
what the platform does with the load generator beside it.
"""

import http.client
import statistics
import threading
import time
import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backend.core.models import Event
from backend.telephony.backends import hook_url
from backend.telephony.twilio_backend import signature_for
from elders.models import Elder
from hotline.models import Call, CallBack, HotlineNumber

SID_PREFIX = "CAbench"


class Command(BaseCommand):
    help = "Signed voice webhooks against the running platform: calls/s and latency."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--duration", type=float, default=20.0, help="seconds")
        parser.add_argument("--server", default="http://127.0.0.1:8000")
        parser.add_argument("--keep", action="store_true", help="keep the calls it made")

    def handle(self, *args, clients, duration, server, keep, **options):
        hotline = HotlineNumber.objects.order_by("pk").first()
        if hotline is None:
            raise CommandError("no hotline number (deploy/up seeds the demo district's)")
        known = [
            str(p)
            for p in Elder.objects.filter(district_id=hotline.district_id)
            .exclude(phone="")
            .values_list("phone", flat=True)[:2000]
        ]
        if not known:
            raise CommandError("the hotline's district has no elder with a mobile number")
        url = hook_url("voice")
        target = urlsplit(server)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.monotonic() + duration

        def client(index: int) -> None:
            conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=20)
            n = 0
            while time.monotonic() < stop:
                n += 1
                caller = known[(index * 7919 + n) % len(known)] if n % 2 else f"+86139{n:08d}"
                params = {
                    "AccountSid": settings.TWILIO_ACCOUNT_SID,
                    "CallSid": f"{SID_PREFIX}{uuid.uuid4().hex[:27]}",
                    "CallStatus": "ringing",
                    "Direction": "inbound",
                    "From": caller,
                    "To": str(hotline.number),
                }
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature_for(url, params),
                }
                started = time.monotonic()
                conn.request("POST", urlsplit(url).path, urlencode(params), headers)
                response = conn.getresponse()
                body = response.read().decode()
                took = time.monotonic() - started
                with lock:
                    latencies.append(took)
                    if response.status != 200 or "<Response>" not in body:
                        errors.append(str(response.status))
            conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not latencies:
            raise CommandError("no call was answered")
        latencies.sort()
        ms = [x * 1000 for x in latencies]
        self.stdout.write(
            f"clients {clients}, {duration:.0f} s: {len(ms)} calls, {len(ms) / duration:.1f}/s; "
            f"p50 {statistics.median(ms):.0f} ms, p90 {ms[int(len(ms) * 0.9)]:.0f} ms, "
            f"p99 {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.0f} ms; errors {len(errors)}"
        )
        if not keep:
            made = Call.objects.filter(call_sid__startswith=SID_PREFIX)
            ids = list(made.values_list("pk", flat=True))
            backs = CallBack.objects.filter(call_id__in=ids)  # the sweep's, for a long run
            Event.objects.filter(
                subject_type="callback", subject_id__in=list(backs.values_list("pk", flat=True))
            ).delete()
            backs.delete()
            Event.objects.filter(subject_type="call", subject_id__in=ids).delete()
            made.delete()
