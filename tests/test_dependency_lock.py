"""The hashed locks in requirements/ agree with pyproject.toml.

deploy/lock makes them and writes down, as `# input:` lines, the requirements it made each one
from. A lock disagrees when pyproject asks for something else today (a dependency added, a range
or an extra changed, without re-locking), when a requirement is not pinned inside its range, or
when a pin has no hash (pip refuses the whole file then). Offline: reads files only."""

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"runtime": (), "dev": ("dev",)}  # lock name: the extras of pyproject it holds
INPUT = "# input: "


def lock_path(name: str) -> Path:
    return ROOT / "requirements" / f"{name}.txt"


def wanted(pyproject: dict, extras: tuple[str, ...]) -> list[Requirement]:
    """What a lock must hold: the dependencies, the build backend and the given extras."""
    reqs = pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]
    for extra in extras:
        reqs = reqs + pyproject["project"]["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def read_lock(text: str) -> tuple[set[str], dict[NormalizedName, Version], list[str]]:
    """A lock's recorded inputs, its pins, and the problems with its lines."""
    inputs, pins, problems = set(), {}, []
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith(INPUT):
            inputs.add(str(Requirement(line.removeprefix(INPUT))))
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pin, *options = line.split()
        name, sep, version = pin.partition("==")
        if not sep or any(not o.startswith("--hash=sha256:") for o in options):
            problems.append(f"not a pin with hashes: {line[:80]}")
            continue
        if not options:
            problems.append(f"{pin} has no hash")
        pins[canonicalize_name(name)] = Version(version)
    return inputs, pins, problems


def lock_problems(pyproject: dict, lock_text: str, extras: tuple[str, ...]) -> list[str]:
    inputs, pins, problems = read_lock(lock_text)
    reqs = wanted(pyproject, extras)
    asked = {str(r) for r in reqs}
    problems += [
        f"pyproject asks for {r}; the lock was not made from it" for r in sorted(asked - inputs)
    ]
    problems += [
        f"the lock was made from {r}; pyproject no longer asks for it"
        for r in sorted(inputs - asked)
    ]
    for req in reqs:
        if req.marker is not None and not req.marker.evaluate():
            continue  # not for this platform
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{req} is not pinned")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{req.name}=={pinned} is outside {req}")
    return problems


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize("name", LOCKS)
def test_the_lock_holds_what_pyproject_asks_for(name):
    problems = lock_problems(pyproject(), lock_path(name).read_text(), LOCKS[name])

    assert problems == [], "\n".join(
        [f"requirements/{name}.txt disagrees with pyproject.toml: run deploy/lock", *problems]
    )


def test_the_dev_lock_holds_every_runtime_pin_unchanged():
    runtime = read_lock(lock_path("runtime").read_text())[1]
    dev = read_lock(lock_path("dev").read_text())[1]

    changed = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}

    assert changed == {}, "tests must run what production runs: run deploy/lock"


# The check itself, on a small pyproject and lock, for each way they can disagree.

SMALL = {
    "build-system": {"requires": ["setuptools>=69"]},
    "project": {
        "dependencies": ["Django>=5.2,<5.3", "psycopg[binary]>=3.2,<4"],
        "optional-dependencies": {"dev": ["pytest>=8", "colorama; sys_platform == 'win32'"]},
    },
}
SMALL_LOCK = """\
# input: Django<5.3,>=5.2
# input: psycopg[binary]<4,>=3.2
# input: setuptools>=69
django==5.2.7 \\
    --hash=sha256:aa
    # via pyproject.toml
psycopg==3.2.10 --hash=sha256:bb --hash=sha256:cc
psycopg-binary==3.2.10 --hash=sha256:dd
setuptools==80.9.0 --hash=sha256:ee
"""


def small(**changes) -> dict:
    project = {**SMALL["project"], **changes}
    return {**SMALL, "project": project}


def test_check_passes_a_lock_made_from_its_pyproject():
    assert lock_problems(SMALL, SMALL_LOCK, ()) == []


def test_check_finds_a_dependency_added_without_relocking():
    deps = SMALL["project"]["dependencies"] + ["uvicorn[standard]>=0.30"]

    problems = lock_problems(small(dependencies=deps), SMALL_LOCK, ())

    assert problems == [
        "pyproject asks for uvicorn[standard]>=0.30; the lock was not made from it",
        "uvicorn[standard]>=0.30 is not pinned",
    ]


def test_check_finds_an_extra_added_without_relocking():
    deps = ["Django>=5.2,<5.3", "psycopg[binary,pool]>=3.2,<4"]

    problems = lock_problems(small(dependencies=deps), SMALL_LOCK, ())

    assert sorted(problems) == [
        "pyproject asks for psycopg[binary,pool]<4,>=3.2; the lock was not made from it",
        "the lock was made from psycopg[binary]<4,>=3.2; pyproject no longer asks for it",
    ]


def test_check_finds_a_pin_outside_its_range():
    lock = SMALL_LOCK.replace("django==5.2.7", "django==5.3.0")

    assert lock_problems(SMALL, lock, ()) == ["Django==5.3.0 is outside Django<5.3,>=5.2"]


def test_check_finds_a_pin_without_a_hash_and_a_line_that_is_no_pin():
    lock = SMALL_LOCK.replace(" --hash=sha256:ee", "") + "-e .\n"

    assert lock_problems(SMALL, lock, ()) == [
        "setuptools==80.9.0 has no hash",
        "not a pin with hashes: -e .",
    ]


def test_check_wants_the_dev_extra_in_the_dev_lock_but_not_what_is_for_another_platform():
    problems = lock_problems(SMALL, SMALL_LOCK, ("dev",))

    assert problems == [
        'pyproject asks for colorama; sys_platform == "win32"; the lock was not made from it',
        "pyproject asks for pytest>=8; the lock was not made from it",
        "pytest>=8 is not pinned",
    ]
