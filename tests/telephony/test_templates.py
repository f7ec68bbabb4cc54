"""Every SMS and spoken text is a template: a code, named parameters, an English msgid."""

import re

import pytest

from backend.telephony.templates import TEMPLATES, UnknownTemplate, per_language, render

NAMES = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_template_renders_with_its_named_parameters(template, language):
    params = {name: f"<{name}>" for name in NAMES.findall(TEMPLATES[template])}

    text = render(template, params, language)

    assert all(value in text for value in params.values())


# sms_reply.text carries a handler's reply, itself a signed template.
@pytest.mark.parametrize(
    "template", [t for t in TEMPLATES if t.startswith("sms") and t != "sms_reply.text"]
)
def test_every_sms_is_signed(template):
    assert TEMPLATES[template].startswith("[Anxin] ")


def test_a_parameter_per_language_is_rendered_in_the_recipients():
    params = {"elder": "王", "service": {"en": "Meal", "zh-hans": "助餐"}, "time": "9:00"}
    params["reference"] = "R1"

    assert "Meal" in render("sms.visit_check_in", params, "en")
    assert "助餐" not in render("sms.visit_check_in", params, "en")
    assert "助餐" in render("sms.visit_check_in", {**params, "service": {"zh-hans": "助餐"}}, "en")


def test_a_translated_label_is_kept_in_every_language():
    assert set(per_language("Meal")) == {"zh-hans", "en"}


def test_a_missing_parameter_or_template_is_refused():
    with pytest.raises(KeyError):
        render("sms.visit_check_in", {"elder": "王"}, "en")
    with pytest.raises(UnknownTemplate):
        render("sms.nothing", {}, "en")
