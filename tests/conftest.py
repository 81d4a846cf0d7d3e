"""Shared fixtures: real PostGIS (the private cluster), the demo extract, factories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation

from mapping.osm_import import import_osm
from parties.models import Town
from tests.factories import AgentFactory, PartyFactory, ResidentFactory

DATA = Path(__file__).parent / "data"
DEMO_PBF = DATA / "extract" / "liechtenstein-2013-08-03.osm.pbf"
CENTRE_PBF = DATA / "extract" / "vaduz-centre.osm.pbf"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser and other transactional tests last: they truncate the tables when they finish."""
    items.sort(
        key=lambda item: ("/e2e/" in str(item.fspath)) or item.get_closest_marker("transactional") is not None
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "transactional: test commits for real (runs last)")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in French activates French for the thread
    (LocaleMiddleware does not switch back), which would leak into the next test's messages."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached values (sign-in lockout counters...) never leak from one test into the next."""
    yield
    cache.clear()


@pytest.fixture(scope="session")
def _demo_import(django_db_setup, django_db_blocker) -> None:
    with django_db_blocker.unblock():
        if not Town.objects.filter(slug="vaduz").exists():
            import_osm(DEMO_PBF, "vaduz", "Vaduz")


@pytest.fixture
def vaduz(_demo_import, db) -> Town:
    """The whole Liechtenstein demo extract, imported once per session as the town 'vaduz'."""
    town = Town.objects.filter(slug="vaduz").first()
    if town is None:  # a transactional test truncated the tables: import again
        import_osm(DEMO_PBF, "vaduz", "Vaduz")
        town = Town.objects.get(slug="vaduz")
    return town


@pytest.fixture
def centre_town(db) -> Town:
    """A small town (the centre of Vaduz, ~1,900 elements) imported inside the test's transaction."""
    return import_osm(CENTRE_PBF, "centre", "Vaduz centre").town


@pytest.fixture
def osm_tool():
    """Path to a Debian OSM tool, or fail loudly: these tools are part of the test contract."""

    def find(name: str) -> str:
        path = shutil.which(name)
        assert path, f"{name} is not installed (scripts/bootstrap.sh installs it)"
        return path

    return find


@pytest.fixture
def call(capsys):
    def run(*args, **kwargs) -> str:
        call_command(*args, **kwargs)
        return capsys.readouterr().out

    return run


# The party, its town's agent and one of its residents: the cast of most review and editing tests.


@pytest.fixture
def party(db):
    return PartyFactory()


@pytest.fixture
def agent(party):
    return AgentFactory(town=party.town)


@pytest.fixture
def resident(party):
    return ResidentFactory(party=party)


@pytest.fixture
def export_dir(settings, tmp_path) -> Path:
    """Exports and prints written under the test's own temporary directory, returned; the modules
    that build files use it for every test (``pytestmark = pytest.mark.usefixtures("export_dir")``)."""
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    return settings.CARTOPARTY_EXPORT_DIR
