import asyncio
import contextlib
import os
import time
import warnings

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import Client, TransactionTestCase
from rest_framework.test import APIClient

from backend.telephony.backends import RecordingBackend
from tests import factories as f


def _flush_retrying_on_deadlock(original):
    """A transactional test ends by emptying every table (TRUNCATE). While a running stack's
    processes (the browser tests' web server, worker and beat) read those tables, PostgreSQL may
    find the two waiting on each other and end the flush: it is only asked again."""

    def teardown(self):
        for attempt in range(5):
            try:
                return original(self)
            except CommandError as refused:
                deadlock = isinstance(refused.__cause__, OperationalError) and (
                    "deadlock detected" in str(refused.__cause__)
                )
                if not deadlock or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    return teardown


TransactionTestCase._fixture_teardown = _flush_retrying_on_deadlock(  # type: ignore[method-assign]
    TransactionTestCase._fixture_teardown
)


@pytest.hookimpl(trylast=True)  # after tests/browser/conftest.py has marked its tests
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (deploy/test) the browser tests run in one worker, one after another,
    on their one stack, while the other workers take the unit tests. The other end-to-end tests
    run after, alone (deploy/test's second run): they time what they check, and two stacks must
    not share the cores or the Celery workers' broadcasts. (The events feed serves only what is
    below the oldest transaction open in the whole cluster, and a test of another worker is one
    transaction: a test that reads the feed waits for it as a client would, long enough for the
    longest test.)"""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.xdist_group("stack"))


@pytest.fixture(autouse=True)
def _channel_layer_per_test():
    """Each test builds its own channel layer: the Redis layer keeps a receive lock, and one a
    test's socket left held in that test's event loop fails the next test's loop ("bound to a
    different event loop"), whichever test happens to come next."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """A reused test database may have been flushed by a transactional test: reload the
    catalogue that the data migration put there."""
    from dispatch.catalogue import catalogue_load
    from dispatch.models import ServiceType

    with django_db_blocker.unblock():
        catalogue_load(ServiceType)


@pytest.fixture(scope="session", autouse=True)
def _translations_compiled():
    """The catalogues of locale/ compiled, as deploy/test does (an up-to-date .mo is kept):
    answers are in Chinese by default, and the tests see what users see."""
    from django.conf import settings
    from django.core.management import call_command

    here = os.getcwd()
    os.chdir(settings.BASE_DIR)  # compilemessages looks for locale folders from here
    try:
        call_command("compilemessages", ignore_patterns=[".*", "var"], verbosity=0)
    finally:
        os.chdir(here)


@pytest.fixture
def english(settings):
    """For a test that reads messages as written in the code (the English msgids): English is
    the default for its requests and is active for what it calls directly. What the default
    language is, and how a request chooses one, is tested in tests/i18n."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def catalogue(transactional_db):
    """Transactional tests start from a flushed database: put the catalogue back."""
    from dispatch.catalogue import catalogue_load
    from dispatch.models import ServiceType

    catalogue_load(ServiceType)


def cache_forget() -> None:
    """Delete this run's cache keys (its own prefix, see backend/settings/test.py), never the
    whole database: other runs share it."""
    from django.conf import settings
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    pattern = f"{settings.CACHES['default']['KEY_PREFIX']}:*"
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _cache():
    """Throttles, lockouts and token versions never leak from one test into another."""
    cache_forget()
    yield
    cache_forget()


@pytest.fixture(autouse=True)
def _breakers():
    """A Redis failure one test provoked does not have the next test skip Redis."""
    from backend.core import breaker

    breaker.cache.reset()
    breaker.push.reset()
    yield
    breaker.cache.reset()
    breaker.push.reset()


@pytest.fixture(autouse=True)
def _health_answer():
    """/healthz remembers its anonymous answer for two seconds: not from one test to the next."""
    from backend.core.health import anonymous_forget

    anonymous_forget()
    yield
    anonymous_forget()


@pytest.fixture(autouse=True)
def _outbox():
    RecordingBackend.outbox.clear()
    yield RecordingBackend.outbox
    RecordingBackend.outbox.clear()


@pytest.fixture
def outbox():
    return RecordingBackend.outbox


@pytest.fixture
def district(db):
    return f.DistrictFactory(code="220104000000", name="朝阳区")


@pytest.fixture
def operator(district):
    return f.UserFactory(role="operator", district=district)


@pytest.fixture
def elder(district):
    return f.ElderFactory(district=district)


@pytest.fixture
def family(elder):
    user = f.UserFactory(role="family")
    f.ContactFactory(elder=elder, priority=1, user=user)
    return user


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def admin_login(user) -> Client:
    """A browser signed in to the admin site as `user` (the one place that knows how), second
    factor included: the admin lets in only sessions that passed it."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = f.totp_device(user).persistent_id
    session.save()
    return client


@pytest.fixture
def make_worker(district):
    def make(east_m: float = 0, north_m: float = 0, **kwargs):
        provider = kwargs.pop("provider", None) or f.ProviderFactory(district=district)
        worker = f.WorkerFactory(provider=provider, **kwargs)
        f.place_worker(worker, f.offset(f.HOME, east_m, north_m))
        return worker

    return make


def run_bounded(coroutine, *, cleanup_s: float = 5.0):
    """`asyncio.run`, except that a task left behind which does not end when cancelled cannot
    hang the test: after `cleanup_s` the loop is closed anyway and the tasks are named in a
    warning. Seen once in CI: after a socket test's last disconnect, asyncio.run waited on a
    cancelled task (inside channels_redis or asgiref, which one was not caught) until
    pytest-timeout's 300 s, in a process that had run many socket tests before."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        left = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in left:
            task.cancel()
        if left:
            _, stuck = loop.run_until_complete(asyncio.wait(left, timeout=cleanup_s))
            if stuck:
                warnings.warn(
                    f"tasks still running {cleanup_s:g} s after their cancellation: {stuck}",
                    stacklevel=2,
                )
        loop.run_until_complete(loop.shutdown_asyncgens())
        # asyncio.to_thread's threads, as asyncio.run ends them, within the same bound.
        with contextlib.suppress(TimeoutError):
            loop.run_until_complete(asyncio.wait_for(loop.shutdown_default_executor(), cleanup_s))
        loop.close()
