"""High contrast on the family page: every text colour of family.css on each background it is
used on reaches WCAG AAA, 7:1 (the console's check asks AA, 4.5:1, and lends its formula). The
colours are read from the stylesheet, so changing one re-checks it."""

import re
from pathlib import Path

import pytest

from tests.console.test_contrast import contrast

CSS = Path(__file__).resolve().parents[2] / "family" / "static" / "family" / "family.css"

PAIRS = [
    ("--ink", "--paper"),  # text, fields, buttons
    ("--brand", "--paper"),  # links
    ("--error", "--paper"),  # refusals
    ("#fff", "--brand"),  # the top bar, the main button
]


def _colour(name: str, properties: dict[str, str]) -> str:
    value = properties.get(name, name)
    return "#" + "".join(c * 2 for c in value[1:]) if len(value) == 4 else value


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_reaches_seven_to_one(text, background):
    properties = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{3,6})\b", CSS.read_text()))

    ratio = contrast(_colour(text, properties), _colour(background, properties))

    assert ratio >= 7, f"{text} on {background}: {ratio:.2f}"
