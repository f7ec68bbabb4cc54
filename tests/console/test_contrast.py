"""WCAG AA: every text colour of the console's stylesheet on each background it is used on
reaches 4.5:1. The colours are read from console.css, so changing one re-checks it."""

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "console" / "static" / "console" / "console.css"

# (text, background) as used by the stylesheet: a custom property's name or a literal colour.
PAIRS = [
    ("--ink", "--paper"),
    ("--ink", "--panel"),
    ("--muted", "--paper"),
    ("--muted", "--panel"),
    ("--muted", "#f7f8f9"),  # a taken item's clock
    ("--primary", "--paper"),  # links, <summary>
    ("--primary-ink", "--primary"),
    ("--danger", "--paper"),  # overdue clocks, errors
    ("--danger", "#fde7ea"),  # the error notice
    ("--danger-ink", "--danger"),
    ("#ffffff", "#6d0014"),  # the flashing banner's dark phase
    ("--warn-ink", "--warn-bg"),
    ("--ok-ink", "--ok-bg"),
    ("--ok-ink", "--paper"),
    ("--ok-ink", "#f7f8f9"),
    ("--urgent", "--paper"),
    ("#ffffff", "--urgent"),  # the urgent badge
    ("#ffffff", "#15263b"),  # the top bar
    ("#ffffff", "#2f4d72"),  # the current page in the top bar
    ("#ffffff", "#1e6b34"),  # live
    ("#ffffff", "#5c4300"),  # connecting
    ("#ffffff", "#5f6368"),  # the routine badge
]


def _properties() -> dict[str, str]:
    return dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS.read_text()))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_contrast_formula_matches_wcags_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_reaches_aa_contrast_on_its_background(text, background):
    colours = _properties()
    fg, bg = colours.get(text, text), colours.get(background, background)
    assert fg.startswith("#") and bg.startswith("#"), (text, background)

    assert contrast(fg, bg) >= 4.5, f"{text} {fg} on {background} {bg}"


def test_every_literal_background_with_white_text_in_the_stylesheet_is_checked():
    css = CSS.read_text()
    checked = {bg for fg, bg in PAIRS if fg == "#ffffff"}
    for rule in re.findall(r"\{([^}]*)\}", css):
        if re.search(r"(?<!-)color:\s*#ffffff", rule):
            background = re.search(r"background:\s*(#[0-9a-fA-F]{6})", rule)
            if background:
                assert background.group(1) in checked, rule
