"""The cluster topology (`make cluster`) started for a test or a benchmark, on loopback ports.

Two Rasa processes on rasa_project/endpoints-cluster.yml (PostgreSQL tracker store, Redis
lock store, RabbitMQ event broker), one actions server, and nginx round-robin in front,
configured by the same scripts/cluster-nginx-conf.sh that `make cluster` uses.

Everything started here is its own: a fresh PostgreSQL database (dropped afterwards), its
own Redis database number and key prefix, its own RabbitMQ queue (deleted afterwards).
`Unavailable` says what is missing when PostgreSQL, Redis, RabbitMQ or nginx is not there
(the tests skip with that reason, the benchmark reports it; .ci/run makes sure they are).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.servers import ROOT, Servers, free_port, wait_for

POSTGRES_URL = (
    os.environ.get("MAKEGOOD_TEST_POSTGRES_URL", "").strip() or "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_HOST, REDIS_PORT = "127.0.0.1", int(os.environ.get("MAKEGOOD_TEST_REDIS_PORT", "6379"))
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", int(os.environ.get("MAKEGOOD_TEST_RABBITMQ_PORT", "5672"))
RASA_PROCESSES = ("rasa-1", "rasa-2")


class Unavailable(Exception):
    """A service the topology needs is not there; the message says which and how to get it."""


@dataclass
class Topology:
    servers: Servers
    lb: str  # nginx in front of the Rasa processes
    access_log: Path  # nginx's log of each request and the upstream that served it
    queue: str  # the RabbitMQ queue Rasa publishes the conversation events to

    @property
    def database_url(self) -> str:
        return self.servers.database_url


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if not found:
        raise Unavailable("nginx is not installed (apt-get install nginx; make cluster and make bench install it)")
    return found


def require_services(redis_db: int) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.connect() as db:
            db.execute(text("select 1"))
    except Exception as exc:
        raise Unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__})") from exc
    finally:
        admin.dispose()
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=redis_db, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise Unavailable(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({exc})") from exc
    if not _port_open(RABBIT_HOST, RABBIT_PORT):
        raise Unavailable(f"RabbitMQ is not reachable at {RABBIT_HOST}:{RABBIT_PORT}")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def queue_depth(queue: str, delete: bool = False) -> int:
    """How many messages wait in the queue (it must exist); delete it when asked."""
    import aio_pika

    async def run() -> int:
        connection = await aio_pika.connect(host=RABBIT_HOST, port=RABBIT_PORT, login="guest", password="guest")
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            count = declared.declaration_result.message_count
            if delete:
                await declared.delete(if_unused=False, if_empty=False)
            return count

    return asyncio.run(run())


@contextlib.contextmanager
def running(workdir: Path, *, redis_db: int, label: str) -> Iterator[Topology]:
    """Start the topology under `workdir`; stop it and remove its database, keys and queue after.
    Raises Unavailable before starting anything when a service is missing, and StartError
    (tests.support.servers) when a server does not come up."""
    nginx = nginx_binary()
    require_services(redis_db)
    from sqlalchemy import create_engine, text

    tag = uuid.uuid4().hex[:10]
    database = f"mg_{label}_{tag}"
    queue = f"makegood_{label}_{tag}"
    key_prefix = f"mg{label}{tag}".replace("_", "")  # alphanumeric, as Rasa requires
    admin = create_engine(POSTGRES_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{database}"'))
    servers = Servers(
        workdir=workdir,
        database_url=with_database(POSTGRES_URL, database),
        endpoints="rasa_project/endpoints-cluster.yml",
        rasa_processes=len(RASA_PROCESSES),
        extra_env={
            "MAKEGOOD_REDIS_HOST": REDIS_HOST,
            "MAKEGOOD_REDIS_PORT": str(REDIS_PORT),
            "MAKEGOOD_REDIS_DB": str(redis_db),
            "MAKEGOOD_REDIS_KEY_PREFIX": key_prefix,
            "MAKEGOOD_RABBITMQ_HOST": RABBIT_HOST,
            "MAKEGOOD_RABBITMQ_PORT": str(RABBIT_PORT),
            "MAKEGOOD_RABBITMQ_USER": "guest",
            "MAKEGOOD_RABBITMQ_PASSWORD": "guest",
            "MAKEGOOD_RABBITMQ_QUEUE": queue,
        },
    )
    nginx_proc = None
    try:
        servers.start()
        prefix = workdir / "nginx"
        prefix.mkdir()
        lb_port = free_port()
        rasa_ports = " ".join(servers.urls[name].rsplit(":", 1)[1] for name in RASA_PROCESSES)
        conf = subprocess.run(
            [str(ROOT / "scripts" / "cluster-nginx-conf.sh"), str(prefix), "127.0.0.1", str(lb_port), rasa_ports],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (prefix / "nginx.conf").write_text(conf)
        nginx_log = prefix / "nginx-error.log"
        nginx_proc = subprocess.Popen(
            [nginx, "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-e", str(nginx_log)],
            stdout=nginx_log.open("a"),
            stderr=subprocess.STDOUT,
        )
        lb = f"http://127.0.0.1:{lb_port}"
        wait_for(f"{lb}/", nginx_proc, nginx_log, "nginx", timeout=30)
        yield Topology(servers, lb, prefix / "nginx-access.log", queue)
    finally:
        if nginx_proc is not None and nginx_proc.poll() is None:
            nginx_proc.terminate()
            nginx_proc.wait(timeout=20)
        servers.stop()
        import redis

        red = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=redis_db)
        for key in red.scan_iter(f"{key_prefix}:*"):
            red.delete(key)
        with contextlib.suppress(Exception):  # no queue: Rasa never connected, nothing to clean
            queue_depth(queue, delete=True)
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
