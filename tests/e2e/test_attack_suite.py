"""Standing attack suite against the real servers (hardening item 10), one set of servers for the
module, started the way `make run` starts them (tests/support/servers.py):

(a) Hypothesis throws arbitrary bodies at the REST webhook: never a 5xx, never a traceback;
(b) the actions server is killed (SIGKILL) after the bot made an offer: the customer still gets
    an answer, and once it is back (same tokens, same database) the conversation continues;
(c) Rasa is killed and restarted on the same database: the SQL tracker store kept the conversation;
(d) the ledger made read-only under a fresh actions server: the bot never says "Done -- your
    reference is ..." (or "I've saved your case ... reference ...") for anything not recorded.

Throughout: every reference the bot gives (P-XXXXXX) is in the ledger with the status its words
claim, and the ledger's audit chain verifies at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.identity import SignIns
from tests.support.servers import ROOT, Servers, StartError, forget_grants, wait_for

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"\bP-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}\b")
MAX_REPLIES, MAX_REPLY_CHARS = 20, 5000  # "nothing over a limit" for one turn's answer
SMASHED = "the dinner set from order MG-10422 arrived smashed to pieces"
OFFER = "Here's what I can do for you right now"


class Stack:
    """The servers plus what is needed to kill and restart one of them exactly as servers.py
    started it (same argv, same environment, same port)."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.rasa = servers.urls["rasa"]
        self.actions = servers.urls["actions"]
        self.env = {**servers.env(), "MAKEGOOD_ACTION_URL": f"{self.actions}/webhook"}
        self.said: list[tuple[str, str]] = []  # (sender, reply) for every reply heard in the module
        self.sign_ins = SignIns(servers.identity_secret, servers.database_url)
        self._restarts = 0

    # -- processes --------------------------------------------------------------------------------
    def _port(self, name: str) -> str:
        return self.servers.urls[name].rsplit(":", 1)[1]

    def argv(self, name: str) -> list[str]:
        port = int(self._port(name))
        return self.servers.actions_argv(port) if name == "actions" else self.servers.rasa_argv(port)

    def health(self, name: str) -> str:
        return f"{self.actions}/health" if name == "actions" else f"{self.rasa}/"

    def kill9(self, name: str) -> None:
        proc = self.servers.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def start(self, name: str, env: dict | None = None) -> None:
        self._restarts += 1
        log = self.servers.workdir / f"{name}-restart{self._restarts}.log"
        proc = subprocess.Popen(
            self.argv(name), cwd=ROOT, env=env or self.env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        self.servers.procs[name] = proc  # Servers.stop() ends it with the rest
        wait_for(self.health(name), proc, log, name)

    # -- HTTP -------------------------------------------------------------------------------------
    def post(self, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{self.rasa}/webhooks/rest/webhook", data=body, method="POST", headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except (urllib.error.URLError, ConnectionError) as err:
            try:
                urllib.request.urlopen(f"{self.rasa}/", timeout=10)
                alive = True
            except OSError:
                alive = False
            if alive:  # a connection problem of this request only: not a crash
                raise
            proc = self.servers.procs["rasa"]
            code = proc.poll() if proc.poll() is not None else "none: alive but no longer listening"
            self.kill9("rasa")
            self.start("rasa")  # so the tests after this one meet a live server
            raise AssertionError(
                f"one request killed the Rasa server (exit code {code}; restarted): "
                f"POST /webhooks/rest/webhook with body {body[:300]!r}"
            ) from err

    def say(self, sender: str, message: str) -> list[str]:
        metadata = self.sign_ins.metadata(sender, message)
        status, body = self.post(json.dumps({"sender": sender, "message": message, "metadata": metadata}).encode())
        assert status == 200, (status, body[:2000])
        assert b"Traceback" not in body, body[:2000]
        replies = [m.get("text", "") for m in json.loads(body)]
        assert len(replies) <= MAX_REPLIES and all(len(r) <= MAX_REPLY_CHARS for r in replies), replies
        self.said += [(sender, r) for r in replies]
        return replies

    def tracker(self, sender: str) -> dict:
        url = f"{self.rasa}/conversations/{sender}/tracker?token=" + urllib.parse.quote(self.servers.rasa_token)
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.load(response)

    # -- the ledger -------------------------------------------------------------------------------
    def ledger(self, url: str | None = None):
        from makegood.ledger import Ledger

        return Ledger.from_url(url or self.servers.database_url, migrate=False)

    def assert_every_reference_is_recorded(self, url: str | None = None) -> int:
        """Each reference the bot gave is in the ledger, with the status its words claim."""
        ledger = self.ledger(url)
        try:
            checked = 0
            for sender, reply in self.said:
                for ref in REFERENCE.findall(reply):
                    proposal = ledger.get(ref)  # raises LedgerError if the bot made it up
                    checked += 1
                    assert proposal.conversation_id == sender, (ref, sender, proposal.conversation_id)
                    if reply.startswith("Done"):
                        assert proposal.status in ("accepted", "approved"), (
                            f"the bot told {sender} {reply!r} but {ref} is {proposal.status} in the ledger"
                        )
                    elif "passed your case" in reply or "saved your case" in reply:
                        assert proposal.status == "pending", (
                            f"the bot told {sender} {reply!r} but {ref} is {proposal.status} in the ledger"
                        )
            return checked
        finally:
            ledger.dispose()

    def verify(self) -> None:
        ledger = self.ledger()
        try:
            report = ledger.verify()
        finally:
            ledger.dispose()
        assert report.ok, report.problems

    def proposals(self, sender: str):
        ledger = self.ledger()
        try:
            return ledger.list(conversation_id=sender, limit=50)
        finally:
            ledger.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    work = tmp_path_factory.mktemp("attack")
    servers = Servers(workdir=work, database_url=f"sqlite:///{work / 'makegood.db'}")
    try:
        servers.start()
    except StartError as exc:
        pytest.fail(str(exc))
    try:
        yield Stack(servers)
    finally:
        servers.stop()


@pytest.fixture(autouse=True)
def _demo_history(request):
    """Each attack starts from the demo customers' seeded history (not the grants of the one before)."""
    if "stack" in request.fixturenames:
        forget_grants(request.getfixturevalue("stack").servers.database_url)


def new_sender(label: str) -> str:
    return f"attack-{label}-{uuid.uuid4().hex[:8]}"


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


# -- (a) fuzzing the REST webhook ---------------------------------------------------------------------
TEXT = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202e",
            "\ud800",
            "/restart",
            "/stop",
            '/damaged_item{"order_id": "MG-10422"}',
            '/choose_option{"option_number": "99999999999"}',
            "/nlu_fallback",
            "/session_start",
            "/action_listen",
            "[MG-10422](order_id)",
            SMASHED,
        ]
    ),
    st.builds(lambda ch, n: ch * n, st.characters(), st.integers(4990, 5010)),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
SENDER = st.one_of(st.builds(lambda: new_sender("fuzz")), TEXT, JSON)


def _deep(n: int) -> bytes:
    return b'{"sender": "attack-deep", "message": "hi", "metadata": ' + b'{"a":' * n + b"1" + b"}" * n + b"}"


BODY = st.one_of(
    JSON.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"sender": SENDER, "message": st.one_of(TEXT, JSON)},
        optional={"metadata": JSON, "input_channel": JSON, "stream": JSON},
    ).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 50_000).map(_deep),
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"NaN",
            b'{"sender": "x", "message": NaN}',
            b'{"sender": "\\ud800", "message": "hi"}',
            b'{"sender": "x", "message": "\\ud800"}',
            b"\xff\xfe{\x00}\x00",
        ]
    ),
)


# No shrinking: a body that kills Rasa costs a restart (~50 s) per attempt; the report names the body.
@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(body=BODY, content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_a_rest_webhook_fuzz_never_5xx(stack, body, content_type):
    status, payload = stack.post(body, content_type)
    assert status < 500, (status, body[:300], payload[:2000])
    assert b"Traceback" not in payload, payload[:2000]
    data = json.loads(payload)
    if status == 200:
        assert isinstance(data, list) and len(data) <= MAX_REPLIES, data
        assert all(len(m.get("text", "")) <= MAX_REPLY_CHARS for m in data), data
        sender = json.loads(body)["sender"]
        stack.said += [(sender, m.get("text", "")) for m in data]
    else:
        assert isinstance(data, dict) and data.get("error"), data


@pytest.mark.parametrize(
    "body",
    [
        b'{"sender": "\\ud800", "message": "hi"}',
        b'{"sender": "attack-deep", "message": "hi", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=["lone-surrogate-sender", "deeply-nested-metadata"],
)
def test_a_known_hostile_bodies_get_a_4xx_and_rasa_survives(stack, body):
    status, payload = stack.post(body)
    assert status < 500 and b"Traceback" not in payload, (status, payload[:2000])
    assert stack.say(new_sender("after-hostile"), "hello")  # the next customer is answered


# -- (b) the actions server dies mid-conversation -----------------------------------------------------
def test_b_actions_server_killed_after_an_offer_then_back(stack):
    sender = new_sender("actions-down")
    assert OFFER in joined(stack.say(sender, SMASHED))
    stack.kill9("actions")
    try:
        replies = stack.say(sender, "I'll take the store credit")
        assert replies, "with the actions server down the customer still hears something"
        assert not any(r.startswith("Done") for r in replies), replies  # nothing can have been recorded
        stack.assert_every_reference_is_recorded()
    finally:
        stack.start("actions")
    replies = stack.say(sender, "I'll take the store credit")
    text = joined(replies)
    assert "Done" in text and REFERENCE.search(text), text
    stack.assert_every_reference_is_recorded()
    assert [p.status for p in stack.proposals(sender)].count("accepted") == 1
    stack.verify()


# -- (c) Rasa dies mid-conversation --------------------------------------------------------------------
def test_c_rasa_killed_and_restarted_keeps_the_conversation(stack):
    sender = new_sender("rasa-down")
    assert OFFER in joined(stack.say(sender, SMASHED))
    done = joined(stack.say(sender, "I'll take the store credit"))
    assert "Done" in done and REFERENCE.search(done), done
    before = stack.tracker(sender)
    stack.kill9("rasa")
    stack.start("rasa")
    after = stack.tracker(sender)
    users = [e.get("text") for e in after["events"] if e.get("event") == "user"]
    assert users[:2] == [SMASHED, "I'll take the store credit"], users
    assert len(after["events"]) >= len(before["events"])
    assert {k: v for k, v in after["slots"].items() if v is not None} == {
        k: v for k, v in before["slots"].items() if v is not None
    }
    assert stack.say(sender, "thanks, that's all")  # the conversation goes on
    stack.assert_every_reference_is_recorded()
    assert REFERENCE.search(done).group(0) in {p.public_id for p in stack.proposals(sender)}
    stack.verify()


# -- (d) the ledger is read-only -----------------------------------------------------------------------
def _read_only_copy(source: Path, target: Path) -> list[Path]:
    """A consistent copy of the database, made read-only (file mode 0444, and opened with SQLite's
    mode=ro: the tests may run as root, for whom file modes are no barrier)."""
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    made = [p for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")) if p.exists()]
    for path in made:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return made


def test_d_read_only_store_never_confirms_what_it_did_not_record(stack):
    database = Path(stack.servers.database_url.removeprefix("sqlite:///"))
    copy = database.parent / "read-only.db"
    early = new_sender("ro-early")  # made an offer while the store still took writes
    assert OFFER in joined(stack.say(early, SMASHED))
    stack.kill9("actions")
    made: list[Path] = []
    read_only_url = f"sqlite:///file:{copy}?mode=ro&uri=true"
    try:
        made = _read_only_copy(database, copy)
        stack.start("actions", {**stack.env, "MAKEGOOD_DATABASE_URL": read_only_url})
        late = new_sender("ro-late")
        heard = {early: stack.say(early, "I'll take the store credit"), late: stack.say(late, SMASHED)}
        heard[late] += stack.say(late, "I'll take the store credit")
        for sender, replies in heard.items():
            assert replies, f"{sender} heard nothing from the bot"
            for reply in replies:
                assert not reply.startswith("Done"), (sender, reply)  # nothing can be recorded
        stack.assert_every_reference_is_recorded(read_only_url)
        stack.assert_every_reference_is_recorded()
    finally:
        stack.kill9("actions")
        for path in made:
            path.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        stack.start("actions")
    # writable again: the early customer's case can still be settled, once
    replies = stack.say(early, "I'll take the store credit")
    assert replies
    stack.assert_every_reference_is_recorded()
    stack.verify()


def test_z_nothing_the_bot_confirmed_in_this_module_is_missing(stack):
    assert stack.assert_every_reference_is_recorded() > 0
    stack.verify()
