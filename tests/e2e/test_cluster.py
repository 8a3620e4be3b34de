"""The cluster topology (`make cluster`, docs/operations.md#the-cluster-topology-make-cluster), for real: two Rasa
processes on rasa_project/endpoints-cluster.yml (PostgreSQL tracker store, Redis lock store,
RabbitMQ event broker), one actions server, and nginx round-robin in front, configured by the
same scripts/cluster-nginx-conf.sh that `make cluster` uses.

(a) one conversation's turns alternate between the two processes, directly and through nginx:
    the case opened on one process is resolved on the other, and the ledger has it accepted;
(b) one Rasa process is killed (SIGKILL) mid-conversation: the next turn through nginx is
    served by the other, nothing is lost, and `makegood ledger verify` passes.

The topology is started by tests.support.cluster (the benchmark starts it the same way), with
its own database, Redis keys and RabbitMQ queue. Skipped, saying why, when PostgreSQL, Redis,
RabbitMQ or nginx is not there (.ci/run makes sure they are).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot
from tests.support.cluster import Topology, Unavailable, queue_depth, running
from tests.support.servers import ROOT, StartError, forget_grants, wait_for

pytestmark = pytest.mark.e2e

SMASHED = "the dinner set from order MG-10422 arrived smashed to pieces"  # C-1001's order
OFFER = "Here's what I can do for you right now"
PICK = "I'll take the store credit"
REFERENCE = re.compile(r"\bP-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}\b")

REDIS_DB = int(os.environ.get("MAKEGOOD_TEST_REDIS_DB", "7"))  # make cluster uses 1, the benchmark 8


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


# -- the cluster ----------------------------------------------------------------------------------
class Cluster:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.servers, self.lb, self.queue = topology.servers, topology.lb, topology.queue
        self.access_log = topology.access_log
        self.database_url = topology.database_url
        self.signed_in: dict[str, str | None] = {}  # one website session, whichever URL a turn goes to

    def bot(self, url: str) -> Bot:
        bot = Bot(url, self.database_url, self.servers.identity_secret)
        bot.signed_in = self.signed_in
        return bot

    def say(self, url: str, sender: str, message: str) -> list[str]:
        return self.bot(url).say(sender, message)

    def port(self, name: str) -> int:
        return int(self.servers.urls[name].rsplit(":", 1)[1])

    def upstreams(self, at_least: int = 0) -> list[str]:
        """The Rasa process (host:port; "a, b" when nginx moved on from a) of each webhook turn so far.
        nginx logs a request after answering it: wait (briefly) for the lines a caller knows are due."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            found = [
                m.group(1)
                for line in lines
                if "/webhooks/rest/webhook" in line and (m := re.search(r"upstream=(.+?) rt=", line))
            ]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def ensure_both_up(self) -> None:
        """A process an earlier test killed is started again on its port (tests never depend on order)."""
        for name in ("rasa-1", "rasa-2"):
            proc = self.servers.procs[name]
            if proc.poll() is None:
                continue
            port = self.port(name)
            env = {**self.servers.env(), "MAKEGOOD_ACTION_URL": f"{self.servers.urls['actions']}/webhook"}
            log = self.servers.workdir / f"{name}-restarted.log"
            self.servers.procs[name] = subprocess.Popen(
                self.servers.rasa_argv(port), cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
            )
            wait_for(f"http://127.0.0.1:{port}/", self.servers.procs[name], log, name)

    def new_scenario(self, label: str) -> str:
        """A new conversation with the demo history as seeded (the cumulative limits would otherwise
        make one scenario's store credit on MG-10422 change what the next is offered)."""
        forget_grants(self.database_url)
        return Bot.new_sender(label)

    def accepted(self, sender: str) -> list:
        return [p for p in self.bot(self.lb).proposals(sender) if p.status == "accepted"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        with running(tmp_path_factory.mktemp("cluster"), redis_db=REDIS_DB, label="e2e") as topology:
            yield Cluster(topology)
    except Unavailable as missing:
        pytest.skip(f"{missing}: cluster tests skipped")
    except StartError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def both_up(cluster) -> Cluster:
    cluster.ensure_both_up()
    return cluster


def test_a_conversation_alternating_between_the_rasa_processes_stays_consistent(both_up):
    c = both_up
    one, two = c.servers.urls["rasa-1"], c.servers.urls["rasa-2"]

    # Directly: the case is opened on process 1 and the option picked on process 2.
    sender = c.new_scenario("cluster-direct")
    assert OFFER in joined(c.say(one, sender, SMASHED))
    text = joined(c.say(two, sender, PICK))
    assert "Done" in text and "$30 in store credit" in text, text
    [proposal] = c.accepted(sender)
    assert proposal.option_chosen["remedy"] == "store_credit" and proposal.public_id in text
    assert proposal.customer_id == "C-1001"

    # Through nginx: round-robin sends the two turns to different processes.
    sender = c.new_scenario("cluster-lb")
    before = len(c.upstreams())
    assert OFFER in joined(c.say(c.lb, sender, SMASHED))
    text = joined(c.say(c.lb, sender, PICK))
    assert "Done" in text and "$30 in store credit" in text, text
    turns = c.upstreams(at_least=before + 2)[before:]
    assert len(turns) == 2 and turns[0] != turns[1], f"nginx did not alternate: {turns}"
    [proposal] = c.accepted(sender)
    assert proposal.option_chosen["remedy"] == "store_credit" and proposal.public_id in text

    # Both processes published the conversation's events to the broker.
    assert queue_depth(c.queue) > 0


def test_a_killed_rasa_process_loses_nothing_and_nginx_moves_on(both_up):
    c = both_up
    sender = c.new_scenario("cluster-kill")
    assert OFFER in joined(c.say(c.lb, sender, SMASHED))
    offered = c.bot(c.lb).proposals(sender)
    assert [p.status for p in offered] == ["offered"]

    # Kill the process round-robin sends the next turn to: the one that did not serve the last.
    last = c.upstreams(at_least=1)[-1]
    victim_name, survivor_name = ("rasa-1", "rasa-2") if last.endswith(f":{c.port('rasa-2')}") else ("rasa-2", "rasa-1")
    turns_before = len(c.upstreams())
    victim = c.servers.procs[victim_name]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    dead, survivor = f"127.0.0.1:{c.port(victim_name)}", f"127.0.0.1:{c.port(survivor_name)}"

    # Through nginx: the dead process refuses the connection, nginx moves on to the survivor.
    text = joined(c.say(c.lb, sender, PICK))
    assert "Done" in text and "$30 in store credit" in text, text
    served = c.upstreams(at_least=turns_before + 1)[-1]
    assert served == f"{dead}, {survivor}", f"expected nginx to try {dead} then {survivor}, got {served}"
    [reference] = set(REFERENCE.findall(text))
    after = c.bot(c.lb).proposals(sender)
    assert {p.public_id for p in after} == {p.public_id for p in offered}  # nothing lost, nothing doubled
    [accepted] = c.accepted(sender)
    assert accepted.public_id == reference and accepted.option_chosen["remedy"] == "store_credit"

    verify = subprocess.run(
        [str(Path(sys.executable).parent / "makegood"), "ledger", "verify"],
        env={**c.servers.env()},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_the_benchmark_load_through_nginx_loses_nothing(both_up):
    """`make bench` measures the cluster with bench.run.cluster_figures: here at smoke size, on this
    module's cluster, so what make bench runs is run in make test too."""
    from bench import report
    from bench.run import cluster_figures

    sizes = {"scaling": [1, 4], "peak_conversations": 6, "peak_think_seconds": 0.5}
    figures = cluster_figures(both_up.topology, sizes, smoke=True)

    assert [row["concurrency"] for row in figures["scaling"]] == [1, 4]
    assert all(row["errors"] == 0 and row["n"] == 2 * row["concurrency"] for row in figures["scaling"]), figures
    peak = figures["peak"]
    assert peak["errors"] == 0 and peak["accepted_proposals_in_ledger"] == peak["expected_proposals"] == 6, peak
    assert figures["rasa_processes"] == 2 and all(figures["memory_mb"][name] > 100 for name in ("rasa-1", "rasa-2"))
    assert report.problems({"cluster": figures}) == []
