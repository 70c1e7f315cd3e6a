"""infra/constraints.txt pins the whole installation: every distribution the project and its
dev extras pull in, directly or through other packages (extras included), at the version
installed here, and nothing else. A dependency missing from it is resolved afresh on every
install, so two installs from the same commit would differ."""

from __future__ import annotations

import importlib.metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.support.processes import INFRA

pytestmark = [pytest.mark.slow, pytest.mark.infra]

CONSTRAINTS = INFRA / "constraints.txt"
# Every venv has pip already, and .ci/run upgrades it before installing through the pins.
UNPINNED = {canonicalize_name("pip")}


def pins() -> dict[NormalizedName, str]:
    found: dict[NormalizedName, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line!r}: pin with name==version"
            found[canonicalize_name(name)] = version
    return found


def installed_closure(project: str, extras: set[str]) -> set[NormalizedName]:
    """Every distribution `project[extras]` needs, as the installed metadata says, following
    the extras each requirement asks for (CacheControl[filecache] needs filelock)."""
    wanted: dict[NormalizedName, set[str]] = {}
    todo = [(project, extras)]
    while todo:
        name, asked = todo.pop()
        key = canonicalize_name(name)
        if key in wanted and asked <= wanted[key]:
            continue
        wanted[key] = wanted.get(key, set()) | asked
        environments = [{"extra": extra} for extra in wanted[key] or {""}]
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate(env) for env in environments):
                todo.append((requirement.name, set(requirement.extras)))
    wanted.pop(canonicalize_name(project))
    return set(wanted)


@pytest.fixture(scope="module")
def needed() -> set[NormalizedName]:
    return installed_closure("ivr", {"dev"}) - UNPINNED


def test_every_dependency_direct_or_indirect_is_pinned(needed: set[NormalizedName]) -> None:
    assert sorted(needed - set(pins())) == []


def test_the_pins_are_the_versions_installed_here(needed: set[NormalizedName]) -> None:
    pinned = pins()
    drift = {
        name: (pinned[name], importlib.metadata.version(name))
        for name in needed & set(pinned)
        if importlib.metadata.version(name) != pinned[name]
    }
    assert drift == {}, "(pinned, installed)"


def test_nothing_is_pinned_that_nothing_needs(needed: set[NormalizedName]) -> None:
    assert sorted(set(pins()) - needed) == []
