"""Our gettext catalogues (locale/<lang>/LC_MESSAGES/{django,djangojs}.po): checked and updated.

Msgids are English, in the code; each language of settings.LANGUAGES but English has a
catalogue. A catalogue is complete when msgfmt finds no untranslated or fuzzy entry in it and
no format error, and when every msgid in the code is in it: makemessages is run on a copy of
the catalogues and must add nothing. `manage.py check_translations` runs both checks (CI runs
it through tests/i18n), `--update` merges the code's msgids into the real catalogues.
"""

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils.translation import to_locale

DOMAINS = ("django", "djangojs")
SOURCE_LANGUAGE = "en"  # the msgids
# Top-level folders with no strings of ours: makemessages never looks inside them.
NOT_SOURCE = {"locale", "tests", "var", "docs", "deploy", "requirements", "node_modules"}
_STATISTICS = re.compile(r"(\d+) (translated|fuzzy|untranslated)")


@dataclass(frozen=True)
class Statistics:
    translated: int = 0
    fuzzy: int = 0
    untranslated: int = 0


def locale_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def catalogue_locales() -> list[str]:
    """zh_Hans for zh-hans: the folder names of the languages that need a catalogue."""
    return [to_locale(code) for code, _name in settings.LANGUAGES if code != SOURCE_LANGUAGE]


def catalogues(root: Path) -> Iterator[Path]:
    for locale in catalogue_locales():
        for domain in DOMAINS:
            yield root / locale / "LC_MESSAGES" / f"{domain}.po"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install GNU gettext (deploy/lib.sh does)")
    return found


def statistics(po: Path) -> Statistics:
    """msgfmt's own count; a format error (a translation that drops or renames a %(name)s)
    raises ValueError with msgfmt's message."""
    done = subprocess.run(  # noqa: S603 - GNU gettext on our own files
        [_tool("msgfmt"), "--check", "--statistics", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(done.stderr.strip())
    counts = {kind: int(n) for n, kind in _STATISTICS.findall(done.stderr)}
    return Statistics(**counts)


def _msgids(po: Path, *flags: str) -> list[str]:
    """The msgids msgattrib selects (e.g. --untranslated), a context as "context|msgid"."""
    done = subprocess.run(  # noqa: S603 - GNU gettext on our own files
        [_tool("msgattrib"), "--no-wrap", *flags, str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    ids: list[str] = []
    entry: dict[str, str] = {}
    keyword = ""
    for line in [*done.stdout.splitlines(), ""]:
        found = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
        if found:
            keyword = found.group(1)
            entry[keyword] = found.group(2)
        elif line.startswith('"') and keyword:
            entry[keyword] += line[1:-1]
        elif not line.strip() and entry:
            if entry.get("msgid"):  # the header's msgid is ""
                context = entry.get("msgctxt")
                ids.append(f"{context}|{entry['msgid']}" if context else entry["msgid"])
            entry, keyword = {}, ""
    return ids


def incomplete(po: Path) -> list[str]:
    """What is wrong with one catalogue, in words; empty when it is complete."""
    if not po.exists():
        return [f"{po}: missing"]
    try:
        counted = statistics(po)
    except ValueError as refused:
        return [f"{po}: msgfmt refuses it: {refused}"]
    problems = []
    if counted.untranslated:
        ids = _msgids(po, "--untranslated", "--no-obsolete")
        problems.append(f"{po}: {counted.untranslated} untranslated: {ids}")
    if counted.fuzzy:
        ids = _msgids(po, "--only-fuzzy", "--no-obsolete")
        problems.append(f"{po}: {counted.fuzzy} fuzzy: {ids}")
    return problems


@contextmanager
def _source_tree() -> Iterator[Path]:
    """A temporary folder with the project's source folders linked in, and a copy of the
    catalogues as its locale/: makemessages run there writes only to the copy."""
    base = Path(settings.BASE_DIR)
    with tempfile.TemporaryDirectory(prefix="anxin-messages-") as tmp:
        root = Path(tmp)
        for entry in base.iterdir():
            source = entry.name not in NOT_SOURCE and not entry.name.endswith(".egg-info")
            if entry.is_dir() and not entry.name.startswith(".") and source:
                (root / entry.name).symlink_to(entry, target_is_directory=True)
        if locale_dir().exists():
            shutil.copytree(locale_dir(), root / "locale", ignore=shutil.ignore_patterns("*.mo"))
        else:
            (root / "locale").mkdir()
        yield root


def extract(root: Path, *, keep_obsolete: bool) -> None:
    """makemessages for every catalogue, inside `root` (a _source_tree)."""
    cwd = Path.cwd()
    os.chdir(root)
    try:
        # LOCALE_PATHS empty: makemessages then writes to ./locale, the copy, whatever it finds.
        with override_settings(LOCALE_PATHS=[]):
            for domain in DOMAINS:
                call_command(
                    "makemessages",
                    locale=catalogue_locales(),
                    domain=domain,
                    symlinks=True,
                    add_location="file",
                    no_obsolete=not keep_obsolete,
                    # static/vendor: htmx and Leaflet, copied from their packages (console/).
                    ignore_patterns=[
                        ".*",
                        "*.egg-info",
                        "static/admin",
                        "static/gis",
                        "static/vendor",
                    ],
                    verbosity=0,
                )
    finally:
        os.chdir(cwd)


def problems() -> list[str]:
    """Every reason the catalogues are not complete; empty when they are."""
    found = [p for po in catalogues(locale_dir()) for p in incomplete(po)]
    with _source_tree() as root:
        extract(root, keep_obsolete=True)
        for po in catalogues(root / "locale"):
            real = locale_dir() / po.relative_to(root / "locale")
            known = set(_msgids(real, "--no-obsolete")) if real.exists() else set()
            if new := sorted(set(_msgids(po, "--no-obsolete")) - known):
                found.append(f"{real}: lacks msgids the code has (new or changed): {new}")
    return found


def unused() -> list[str]:
    """Msgids the catalogues keep that the code no longer has (dropped by --update)."""
    with _source_tree() as root:
        extract(root, keep_obsolete=True)
        return [
            f"{locale_dir() / po.relative_to(root / 'locale')}: {ids}"
            for po in catalogues(root / "locale")
            if (ids := _msgids(po, "--only-obsolete"))
        ]


def _dated(text: str) -> str:
    """A catalogue without the date makemessages stamps on every run: that alone is no change."""
    return re.sub(r'^"POT-Creation-Date: .*"$', "", text, flags=re.MULTILINE)


def update() -> list[Path]:
    """Merge the code's msgids into the real catalogues (new ones untranslated, changed ones
    fuzzy, gone ones dropped); the catalogues that changed."""
    changed = []
    with _source_tree() as root:
        extract(root, keep_obsolete=False)
        for po in catalogues(root / "locale"):
            real = locale_dir() / po.relative_to(root / "locale")
            if not real.exists() or _dated(real.read_text()) != _dated(po.read_text()):
                real.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(po, real)
                changed.append(real)
    return changed
