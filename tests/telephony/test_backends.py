"""The development backend writes every SMS, call and redirect to var/outbox.jsonl."""

import json

from backend.telephony.backends import FileBackend


def test_the_file_backend_records_the_rendered_text_template_and_parameters(settings, tmp_path):
    settings.NOTIFICATION_FILE = tmp_path / "outbox.jsonl"
    params = {"elder": "王", "reference": "R1"}
    backend = FileBackend()

    sms = backend.send_sms(
        to="+8613800138000",
        template="sms.emergency_created",
        params=params,
        language="en",
        status_url="http://localhost:8000/hooks/twilio/status/",
    )
    backend.place_call(
        to="+8613800138000",
        url="http://localhost:8000/hooks/twilio/voice/?n=1",
        status_url="http://localhost:8000/hooks/twilio/status/",
        template="call.callout_prompt",
        params={"elder": "王"},
        language="en",
    )
    backend.redirect_call(call_sid="CA1", url="http://localhost:8000/hooks/twilio/queue/")

    lines = [json.loads(line) for line in settings.NOTIFICATION_FILE.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["sms", "call", "redirect"]
    assert lines[0]["id"] == sms
    assert (lines[0]["template"], lines[0]["params"]) == ("sms.emergency_created", params)
    assert lines[0]["body"].startswith("[Anxin] 王 has asked for emergency help")
    assert "press 1" in lines[1]["say"] and lines[1]["url"].endswith("?n=1")
    assert lines[2]["call_sid"] == "CA1"
