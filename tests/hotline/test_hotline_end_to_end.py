"""The hotline against real processes (tests/stack.py: uvicorn's two web processes, a Celery
worker, beat; PostGIS and Redis): Twilio's requests signed for the public address reach the web
server, an operator's real WebSocket hears `call.ringing`, and taking the call redirects it
(the development File backend records the redirect) to TwiML that dials the operator."""

import asyncio
import io
import json
import time

import pytest
import requests
from django.core.management import call_command

from backend.accounts.models import Role
from dispatch.models import ServiceRequest
from hotline.models import Call, HotlineNumber
from tests import factories as f
from tests.hotline.script import HOTLINE, ScriptedCall, spoken
from tests.hotline.twiml import twilio_signature
from tests.stack import running_stack
from tests.test_end_to_end import Phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def http_sender(base: str):
    from django.conf import settings

    def send(path: str, params: dict) -> tuple[int, str, str]:
        signature = twilio_signature(settings.ANXIN_PUBLIC_URL + path, params)
        response = requests.post(
            base + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=15
        )
        return response.status_code, response.headers.get("Content-Type", ""), response.text

    return send


def test_an_unknown_caller_rings_on_the_operators_socket_and_is_put_through(catalogue, tmp_path):
    district = f.DistrictFactory(code="220104000000", name="朝阳区")
    HotlineNumber.objects.create(number=HOTLINE, district=district)
    operator = f.UserFactory(
        role=Role.OPERATOR, district=district, username="op", phone="+8613700000001"
    )
    code = f.totp_code(f.totp_device(operator))
    elder = f.ElderFactory(district=district)

    with running_stack(tmp_path) as stack:
        call = ScriptedCall(http_sender(stack.base), caller="+8613912345678")

        async def scenario():
            desk = Phone(stack, "op", otp=code)
            await desk.connect(browser=True)
            started = time.monotonic()
            queued = await asyncio.to_thread(call.dial)
            ringing = await desk.expect("call.ringing", timeout=5)
            took = time.monotonic() - started
            listed = await asyncio.to_thread(
                requests.get, f"{stack.base}/api/v1/calls/", headers=desk.headers, timeout=10
            )
            pk = listed.json()["results"][0]["id"]
            taken = await asyncio.to_thread(
                desk.post, f"/api/v1/calls/{pk}/take/", None, **{"Idempotency-Key": "take"}
            )
            await desk.socket.close()
            return queued, ringing, took, taken

        queued, ringing, took, taken = asyncio.run(scenario())

        assert queued.find("Enqueue") is not None, spoken(queued)
        assert ringing["data"]["from"] == call.caller
        assert ringing["data"]["elders"] == []
        assert took < 1, took
        assert taken.status_code == 200, taken.text
        [redirect] = [
            record
            for record in map(json.loads, stack.outbox.read_text().splitlines())
            if record["kind"] == "redirect"
        ]
        assert redirect["call_sid"] == call.sid
        dial = call.redirected(redirect["url"])
        assert dial.find("Dial/Number").text == "+8613700000001"

        # manage.py hotline_call plays Twilio the same way from a shell: a known caller's 1
        out = io.StringIO()
        call_command(
            "hotline_call",
            "--from",
            str(elder.phone),
            "--press",
            "1",
            server=stack.base,
            stdout=out,
        )
        sr = ServiceRequest.objects.get(elder=elder)
        assert (sr.channel, sr.service_type.code) == ("ivr", "meal")
        assert ", ".join(ch for ch in sr.reference if ch.isdigit()) in out.getvalue()

        # manage.py benchmark_hotline: signed calls arriving at a rate, answered, then removed
        before = Call.objects.count()
        figures = io.StringIO()
        call_command(
            "benchmark_hotline", clients=2, duration=1.0, server=stack.base, stdout=figures
        )
        assert "errors 0" in figures.getvalue(), figures.getvalue()
        assert int(figures.getvalue().split(" calls,")[0].split()[-1]) > 0
        assert Call.objects.count() == before

    row = Call.objects.get(call_sid=call.sid)
    assert (row.state, row.taken_by_id) == ("connecting", operator.pk)
