"""The translation check CI runs: the catalogues of locale/ are complete (nothing untranslated
or fuzzy, no format error, every msgid of the code in them), and the check catches each way
they can fail, on a copy."""

import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from backend.core import translations

DJANGO_PO = Path("zh_Hans/LC_MESSAGES/django.po")

# makemessages writes and removes copies of the templates (x.html.py) beside them: two runs at
# once remove each other's (deploy/test runs these in its second, one-process run).
pytestmark = pytest.mark.makemessages


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the catalogues that the checks and --update then use instead of locale/."""
    shutil.copytree(translations.locale_dir(), tmp_path / "locale")
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        yield tmp_path / "locale"


def entry_edit(po: Path, msgid: str, change) -> None:
    """Apply `change` to the one entry of `po` whose msgid is `msgid` (on one line)."""
    text = po.read_text()
    blocks = text.split("\n\n")
    hits = [i for i, b in enumerate(blocks) if f'\nmsgid "{msgid}"\n' in f"\n{b}\n"]
    assert len(hits) == 1, msgid
    blocks[hits[0]] = change(blocks[hits[0]])
    po.write_text("\n\n".join(blocks))


def test_the_catalogues_are_complete():
    assert translations.problems() == []


def test_the_command_passes_on_the_catalogues():
    call_command("check_translations")


def test_an_untranslated_entry_fails(copy):
    entry_edit(copy / DJANGO_PO, "Not found.", lambda b: re.sub(r'msgstr ".*"', 'msgstr ""', b))

    found = translations.problems()

    assert len(found) == 1 and "1 untranslated" in found[0] and "Not found." in found[0]
    with pytest.raises(CommandError):
        call_command("check_translations")


def test_a_fuzzy_entry_fails(copy):
    entry_edit(copy / DJANGO_PO, "Not found.", lambda b: b.replace('msgid "', '#, fuzzy\nmsgid "'))

    found = translations.problems()

    assert len(found) == 1 and "1 fuzzy" in found[0] and "Not found." in found[0]


def test_a_translation_that_drops_a_placeholder_fails(copy):
    entry_edit(
        copy / DJANGO_PO,
        "This offer expired at %(time)s.",
        lambda b: re.sub(r'msgstr ".*"', 'msgstr "此派单已过期。"', b),
    )

    found = translations.problems()

    assert len(found) == 1 and "msgfmt refuses it" in found[0]


def test_a_msgid_of_the_code_missing_from_the_catalogue_fails(copy):
    entry_edit(copy / DJANGO_PO, "Not found.", lambda b: "")

    found = translations.problems()

    assert len(found) == 1 and "lacks msgids" in found[0] and "'Not found.'" in found[0]


def test_update_adds_what_the_code_has_untranslated_for_someone_to_translate(copy):
    entry_edit(copy / DJANGO_PO, "Not found.", lambda b: "")

    with pytest.raises(CommandError):  # merged, so now to translate
        call_command("check_translations", "--update", stderr=StringIO(), stdout=StringIO())

    # msgmerge offers the nearest translated msgid as a guess ("Not closed" for "Not found."),
    # marked fuzzy: untranslated or fuzzy, the check names it until someone translates it.
    text = (copy / DJANGO_PO).read_text()
    assert "#: backend/core/errors.py\n" in text and '\nmsgid "Not found."\n' in text
    assert translations.problems() in (
        [f"{copy / DJANGO_PO}: 1 untranslated: ['Not found.']"],
        [f"{copy / DJANGO_PO}: 1 fuzzy: ['Not found.']"],
    )


def test_update_changes_nothing_on_complete_catalogues(copy):
    before = (copy / DJANGO_PO).read_text()

    assert translations.update() == []
    assert (copy / DJANGO_PO).read_text() == before


def test_the_compiled_catalogue_is_not_committed():
    ignored = subprocess.run(
        [
            "git",
            "check-ignore",
            "-q",
            str(translations.locale_dir() / "zh_Hans/LC_MESSAGES/django.mo"),
        ],
        check=False,
    )

    assert ignored.returncode == 0
