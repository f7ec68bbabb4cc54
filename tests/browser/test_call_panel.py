"""The call panel in a real browser, against the real stack: a caller waits in the queue; the
operator takes the call from the queue, sees who is calling (the elder the number matched, with
the file as an operator is shown it), and creates a request from the panel with the keyboard;
the request exists, made by the operator through dispatch's intake. A second caller ringing
while the workspace is idle opens that call's panel by itself (the screen pop)."""

from dispatch.models import ServiceRequest
from hotline import services as hotline_services
from hotline.models import Call, HotlineNumber
from tests import factories as f
from tests.browser import django_side, screenshot

HOTLINE = "+8643112349"


def _waiting_call(district, caller: str, sid: str) -> int:
    """A caller in the district's operator queue, through the hotline's services as its
    webhooks do (the pushes go out through the channel layer to the pages)."""
    call = hotline_services.call_arrive(
        call_sid=sid, from_number=caller, to_number=HOTLINE, district_id=district.pk
    )
    return hotline_services.call_enqueue(call_id=call.pk, reason="operator").pk


def test_an_operator_takes_a_call_sees_the_elder_and_creates_a_request(stack, console_page):
    with django_side():
        district = f.DistrictFactory()
        HotlineNumber.objects.create(number=HOTLINE, district=district, label="12349")
        operator = f.UserFactory(
            role="operator",
            district=district,
            first_name="王",
            last_name="",
            phone="+8613700000001",
        )
        elder = f.ElderFactory(district=district, full_name="陈桂芳", phone="+8613800138111")
        f.ContactFactory(elder=elder, name="陈明", relationship="son")
        call_id = _waiting_call(district, "+8613800138111", "CA" + "a1" * 16)
    page = console_page(operator)
    page.locator("#link[data-state=live]").wait_for()
    page.locator("#sound-decline").click()

    # The waiting call is in the queue; the operator takes it.
    take = page.locator(f"#queue [hx-post='/console/calls/{call_id}/take/']")
    take.click()

    # The panel: the caller's number, the call now ringing the operator's phone, the elder.
    panel = page.locator("#workspace .call-panel")
    panel.wait_for()
    status = panel.locator(f"#call-status-{call_id}")
    assert "+8613800138111" in status.inner_text()
    assert status.locator(".state[data-state=connecting]").count() == 1
    assert "陈桂芳" in panel.locator(".elder-file h3").inner_text()
    assert "陈明" in panel.locator(".contacts").inner_text()
    screenshot(page, "console-call-panel")

    # A request in a few keystrokes: S to the service list, a service, Enter.
    page.locator("body").press("s")
    service = panel.locator("select[name=service_type]")
    assert service.evaluate("el => el === document.activeElement")
    service.select_option("meal")
    panel.locator("input[name=notes]").fill("软食")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        service.press("Enter")
    assert answer.value.status == 200
    created = page.locator("#workspace .request-created")
    created.wait_for()

    with django_side():
        sr = ServiceRequest.objects.select_related("service_type").get(elder=elder)
        taken = Call.objects.get(pk=call_id)
    assert (sr.service_type.code, sr.channel, sr.caller_id, sr.notes) == (
        "meal",
        "operator",
        operator.pk,
        "软食",
    )
    assert sr.reference in created.inner_text()
    assert (taken.state, taken.taken_by_id) == ("connecting", operator.pk)


def test_a_ringing_call_opens_its_panel_in_an_idle_workspace(stack, console_page):
    with django_side():
        district = f.DistrictFactory()
        operator = f.UserFactory(role="operator", district=district)
        f.ElderFactory(district=district, full_name="刘淑兰", phone="+8613800138222")
    page = console_page(operator)
    page.locator("#link[data-state=live]").wait_for()

    with django_side():
        call_id = _waiting_call(district, "+8613800138222", "CA" + "b2" * 16)

    panel = page.locator(f"#workspace #call-status-{call_id}")
    panel.wait_for()
    assert "刘淑兰" in page.locator("#workspace .elder-file h3").inner_text()
