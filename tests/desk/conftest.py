from __future__ import annotations

import pytest

from tests.desk.harness import make_world
from tests.support.fake_rasa import FakeRasa


@pytest.fixture(scope="module")
def rasa():
    """A stand-in Rasa HTTP API for the modules that talk to one (the live inbox, the chat)."""
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One running desk per test module; every test makes its own proposals."""
    w = make_world(tmp_path_factory.mktemp("desk"))
    yield w
    w.server.stop()
    w.engine.dispose()


@pytest.fixture
def fresh_world(tmp_path):
    """A desk of its own, for tests that look at everything in the ledger (the review sample)."""
    w = make_world(tmp_path)
    yield w
    w.server.stop()
    w.engine.dispose()


@pytest.fixture
def alice(world):
    return world.signed_in("alice")


@pytest.fixture
def bob(world):
    return world.signed_in("bob")


@pytest.fixture
def sam(world):
    return world.signed_in("sam")


@pytest.fixture
def rita(world):
    return world.signed_in("rita")
