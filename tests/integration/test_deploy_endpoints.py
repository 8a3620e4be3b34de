"""deploy/endpoints.yml as Rasa 3.6 itself reads it: the variables expand, the stores it names
are the ones Rasa builds, and two Rasa processes sharing only the Redis lock store take one
conversation's turns one at a time (the claim docs/scaling.md rests on). Redis is started
here when `redis-server` is installed; the tracker store runs on SQLite, and on PostgreSQL
too when MAKEGOOD_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.servers import free_port

pytestmark = pytest.mark.integration

ENDPOINTS = Path(__file__).resolve().parents[2] / "deploy" / "endpoints.yml"
PASSWORD = "deploy-test-password"


def read_endpoints(monkeypatch, database_url: str):
    from rasa.core.utils import AvailableEndpoints

    for name, value in {
        "MAKEGOOD_ACTION_URL": "http://nginx:5055/webhook",
        "MAKEGOOD_ACTIONS_TOKEN": "actions-token",
        "MAKEGOOD_DATABASE_URL": database_url,
        "MAKEGOOD_REDIS_HOST": "127.0.0.1",
        "MAKEGOOD_REDIS_PASSWORD": PASSWORD,
        "MAKEGOOD_RABBITMQ_HOST": "rabbitmq",
        "MAKEGOOD_RABBITMQ_USER": "makegood",
        "MAKEGOOD_RABBITMQ_PASSWORD": "broker-password",
    }.items():
        monkeypatch.setenv(name, value)
    return AvailableEndpoints.read_endpoints(str(ENDPOINTS))


def test_rasa_reads_the_endpoints_and_builds_the_stores(monkeypatch, tmp_path):
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain

    endpoints = read_endpoints(monkeypatch, f"sqlite:///{tmp_path / 'tracker.db'}")
    assert endpoints.action.url == "http://nginx:5055/webhook"
    assert endpoints.action.token == "actions-token"
    assert endpoints.event_broker.type == "pika"
    assert endpoints.event_broker.url == "rabbitmq"
    assert endpoints.event_broker.kwargs["password"] == "broker-password"

    lock_store = LockStore.create(endpoints.lock_store)  # redis-py connects lazily
    assert isinstance(lock_store, RedisLockStore)
    assert lock_store.key_prefix == "makegood:lock:"

    tracker_store = TrackerStore.create(endpoints.tracker_store, Domain.empty())
    assert isinstance(tracker_store, SQLTrackerStore)
    assert str(tracker_store.engine.url) == f"sqlite:///{tmp_path / 'tracker.db'}"  # the URL used as is


def test_an_unset_variable_stops_rasa(monkeypatch, tmp_path):
    from rasa.core.utils import AvailableEndpoints

    read_endpoints(monkeypatch, f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.delenv("MAKEGOOD_REDIS_PASSWORD")
    with pytest.raises(Exception, match="MAKEGOOD_REDIS_PASSWORD"):
        AvailableEndpoints.read_endpoints(str(ENDPOINTS))


@pytest.mark.skipif(not os.environ.get("MAKEGOOD_TEST_POSTGRES_URL"), reason="MAKEGOOD_TEST_POSTGRES_URL not set")
def test_the_tracker_store_on_postgresql_keeps_a_conversation(monkeypatch):
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    endpoints = read_endpoints(monkeypatch, os.environ["MAKEGOOD_TEST_POSTGRES_URL"])
    store = TrackerStore.create(endpoints.tracker_store, Domain.empty())
    sender = f"deploy-test-{time.time_ns()}"
    tracker = DialogueStateTracker.from_events(sender, [UserUttered("hello")])
    asyncio.run(store.save(tracker))
    again = TrackerStore.create(endpoints.tracker_store, Domain.empty())  # another replica
    loaded = asyncio.run(again.retrieve(sender))
    assert loaded is not None and loaded.latest_message.text == "hello"


@pytest.fixture
def redis_port(tmp_path):
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_two_rasa_processes_take_one_conversations_turns_in_order(monkeypatch, tmp_path, redis_port):
    from rasa.core.lock_store import LockStore

    endpoints = read_endpoints(monkeypatch, f"sqlite:///{tmp_path / 'tracker.db'}")
    endpoints.lock_store.kwargs["port"] = redis_port  # the file says 6379; this Redis is on a free port
    replica_a, replica_b = LockStore.create(endpoints.lock_store), LockStore.create(endpoints.lock_store)
    order: list[str] = []

    async def turn(store, name: str, hold: float) -> None:
        async with store.lock("conversation-1", lock_lifetime=10, wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    async def both() -> None:
        first = asyncio.create_task(turn(replica_a, "a", 0.5))
        await asyncio.sleep(0.1)  # a holds the conversation's lock
        await asyncio.gather(first, turn(replica_b, "b", 0))

    asyncio.run(both())
    assert order == ["a in", "a out", "b in", "b out"]


def test_other_conversations_do_not_wait(monkeypatch, tmp_path, redis_port):
    from rasa.core.lock_store import LockStore

    endpoints = read_endpoints(monkeypatch, f"sqlite:///{tmp_path / 'tracker.db'}")
    endpoints.lock_store.kwargs["port"] = redis_port
    replica_a, replica_b = LockStore.create(endpoints.lock_store), LockStore.create(endpoints.lock_store)
    order: list[str] = []

    async def turn(store, conversation: str, hold: float) -> None:
        async with store.lock(conversation, lock_lifetime=10, wait_time_in_seconds=0.05):
            order.append(f"{conversation} in")
            await asyncio.sleep(hold)
            order.append(f"{conversation} out")

    async def both() -> None:
        first = asyncio.create_task(turn(replica_a, "conversation-1", 0.5))
        await asyncio.sleep(0.1)
        await asyncio.gather(first, turn(replica_b, "conversation-2", 0))

    asyncio.run(both())
    assert order == ["conversation-1 in", "conversation-2 in", "conversation-2 out", "conversation-1 out"]
