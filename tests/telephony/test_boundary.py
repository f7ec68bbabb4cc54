"""Twilio stays behind one module: a second provider (a domestic SMS gateway) is one more
backend, not a hunt through the code."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "elders", "providers", "dispatch", "hotline")
THE_ONE = Path("backend/telephony/twilio_backend.py")


def twilio_importers():
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if len(path.suffixes) > 1:  # makemessages' copies of templates (x.html.py) come and go
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                if any(name == "twilio" or name.startswith("twilio.") for name in names):
                    yield path.relative_to(ROOT)
                    break


def test_only_the_twilio_backend_imports_twilio():
    assert sorted(set(twilio_importers())) == [THE_ONE]
