"""Standing attack suite, desk side (hardening item 10): Hypothesis throws arbitrary JSON at the
copilot API and arbitrary form fields at the sign-in and decision forms of a real in-process desk
(tests/desk/harness.py). Whatever arrives, the desk answers 2xx/3xx/4xx -- never 5xx -- with a
JSON body on the API and an HTML body on pages, never a traceback; and every proposal the API says
it recorded is in the ledger, whose audit chain still verifies."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makegood.desk.app import MAX_BODY
from tests.desk.harness import CSRF_INPUT, Response, make_world

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

SMASHED = [
    {"speaker": "customer", "text": "my dinner set from order MG-10422 arrived smashed to pieces"},
    {"speaker": "agent", "text": "I'm so sorry to hear that"},
]


# -- strategies -------------------------------------------------------------------------------------
def _huge_text() -> st.SearchStrategy[str]:
    return st.builds(lambda ch, n: ch * n, st.characters(), st.integers(0, 300_000))


TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(min_codepoint=0x80), max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202e",
            "\ud800",
            "MG-10422",
            "C-1001",
            "damaged_item",
            "store_credit",
            "full_refund",
            "customer",
            "agent",
            "NaN",
            "1e999",
            "-0",
            "25.00",
            "99999999999999999999.99",
            "../../etc/passwd",
        ]
    ),
    _huge_text(),
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
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(TEXT, inner, max_size=5)),
    max_leaves=20,
)

SUGGEST_FIELDS = ("turns", "customer_id", "order_id", "facts")
LOG_FIELDS = (
    "conversation_id",
    "situation",
    "order_id",
    "customer_id",
    "facts",
    "remedy",
    "size",
    "customer_ask",
    "transcript",
    "idempotency_key",
)


def _turn() -> st.SearchStrategy:
    return st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"speaker": st.one_of(st.sampled_from(["customer", "agent"]), JSON), "text": st.one_of(TEXT, JSON)}
        ),
    )


def _turns() -> st.SearchStrategy:
    return st.one_of(
        JSON,
        st.just(SMASHED),
        st.lists(_turn(), max_size=8),
        st.integers(0, 400).map(lambda n: [{"speaker": "customer", "text": "hi"}] * n),
    )


def _deep(n: int, kind: str) -> bytes:
    if kind == "list":
        return ("[" * n + "]" * n).encode()
    return ('{"a":' * n + "1" + "}" * n).encode()


def _deep_in_field(field: str) -> st.SearchStrategy[bytes]:
    return st.integers(1, 100_000).map(
        lambda n: (
            b'{"turns": ' + json.dumps(SMASHED).encode() + b', "' + field.encode() + b'": ' + _deep(n, "list") + b"}"
        )
    )


def _body(fields: tuple[str, ...], valid: dict) -> st.SearchStrategy[bytes]:
    """Raw request bodies: arbitrary JSON, a valid body with some fields replaced by anything,
    objects over the known field names, deep nesting, non-UTF-8 and non-JSON bytes."""

    def mutate(changes: dict, drops: list) -> bytes:
        body = {**valid, **changes}
        for key in drops:
            body.pop(key, None)
        return json.dumps(body).encode()

    field_values = {f: st.one_of(JSON, _turns()) if f in ("turns", "transcript") else JSON for f in fields}
    return st.one_of(
        JSON.map(lambda v: json.dumps(v).encode()),
        st.builds(
            mutate, st.fixed_dictionaries({}, optional=field_values), st.lists(st.sampled_from(fields), max_size=3)
        ),
        st.fixed_dictionaries({}, optional=field_values).map(lambda d: json.dumps(d).encode()),
        st.tuples(st.integers(1, 100_000), st.sampled_from(["list", "object"])).map(lambda t: _deep(*t)),
        st.sampled_from(fields).flatmap(_deep_in_field),
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"NaN",
                b"Infinity",
                b'{"turns": NaN}',
                b'{"size": 1e999999}',
                b'{"turns": [{"speaker": "customer", "text": "\\ud800"}]}',
                b"\xff\xfe{\x00}\x00",
                b'{"a": 1, "a": 2}',
                b'{"turns": [' + b"1," * 300_000 + b"1]}",
            ]
        ),
    )


FRESH_ORDER, FRESH_CONVERSATION = "__FRESH_ORDER__", "__FRESH_CONVERSATION__"


def _log_valid() -> dict:
    """A body the API accepts; the placeholders become a new order and conversation per example
    (a goodwill voucher is once per order)."""
    return {
        "conversation_id": FRESH_CONVERSATION,
        "situation": "damaged_item",
        "order_id": FRESH_ORDER,
        "remedy": "goodwill_voucher",
        "transcript": SMASHED,
    }


def _fill(world, raw: bytes) -> bytes:
    if FRESH_ORDER.encode() in raw:
        raw = raw.replace(FRESH_ORDER.encode(), world.fresh_order("MG-10422")[0].encode())
    return raw.replace(FRESH_CONVERSATION.encode(), f"fuzz-{uuid.uuid4().hex[:10]}".encode())


def post_api(world, client, path: str, raw: bytes, headers: dict) -> Response:
    """POST raw bytes. Over the body limit the desk answers 413 as soon as it has read the headers
    and closes the connection, so the oversized body is announced but not sent."""
    if len(raw) <= MAX_BODY:
        return client.request("POST", path, body=raw, headers=headers)
    conn = http.client.HTTPConnection("127.0.0.1", world.server.port, timeout=30)
    try:
        conn.putrequest("POST", path)
        all_headers = dict(headers)
        if client.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        for key, value in {**all_headers, "Content-Length": str(len(raw))}.items():
            conn.putheader(key, value)
        conn.endheaders()
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def call_api(world, bearer, session, path: str, raw: bytes, via_session: bool) -> Response:
    headers = {"Content-Type": "application/json"}
    if via_session:
        headers["X-CSRF-Token"] = session.csrf
        return post_api(world, session, path, raw, headers)
    return post_api(world, world.client(), path, raw, {**headers, "Authorization": f"Bearer {bearer}"})


# -- checks -----------------------------------------------------------------------------------------
def assert_sane_api(r, sent: bytes) -> dict:
    where = f"status {r.status} for body {sent[:300]!r}...: {r.text[:1500]}"
    assert r.status < 500, where
    assert "Traceback" not in r.text and 'File "' not in r.text, where
    assert r.headers.get("Content-Type", "").startswith("application/json"), where
    data = json.loads(r.body)
    if r.status >= 400:
        assert isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"], where
        assert len(data["error"]) <= 2000, f"error message of {len(data['error'])} characters: {where}"
    return data


def assert_sane_page(r, sent) -> None:
    where = f"status {r.status} for {sent!r:.300}: {r.text[:1500]}"
    assert r.status < 500, where
    assert "Traceback" not in r.text and 'File "' not in r.text, where
    if r.status in (301, 302, 303, 307, 308):
        assert r.location and r.location.startswith("/"), where  # never off-site
        return
    assert r.headers.get("Content-Type", "").startswith("text/html"), where
    assert "<html" in r.text.lower(), where


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("desk-fuzz"))
    yield w
    w.server.stop()
    w.engine.dispose()


@pytest.fixture(scope="module")
def bearer(world):
    return world.token("alice")


@pytest.fixture(scope="module")
def alice_session(world):
    return world.signed_in("alice")


@pytest.fixture(scope="module")
def sam_session(world):
    return world.signed_in("sam")


@pytest.fixture(scope="module")
def recorded():
    """public_ids the API answered as recorded: all must be in the ledger at the end."""
    return []


# -- the copilot API --------------------------------------------------------------------------------
@FUZZ
@given(raw=_body(SUGGEST_FIELDS, {"turns": SMASHED}), via_session=st.booleans())
def test_suggest_survives_any_body(world, bearer, alice_session, raw, via_session):
    r = call_api(world, bearer, alice_session, "/api/copilot/suggest", raw, via_session)
    data = assert_sane_api(r, raw)
    if r.status == 200:
        assert set(data) >= {"situation", "phrasing"}, data


@FUZZ
@given(raw=_body(LOG_FIELDS, _log_valid()), via_session=st.booleans())
def test_log_survives_any_body_and_loses_nothing_it_confirmed(world, bearer, alice_session, recorded, raw, via_session):
    raw = _fill(world, raw)
    r = call_api(world, bearer, alice_session, "/api/copilot/log", raw, via_session)
    data = assert_sane_api(r, raw)
    if r.status in (200, 201):
        public_id = data["public_id"]
        assert public_id.startswith("P-")
        stored = world.ledger.get(public_id)  # raises if the confirmed proposal is not there
        assert stored.requested_by == "alice" and stored.channel == "copilot"
        recorded.append(public_id)


def test_the_valid_log_body_really_is_recorded(world, bearer, recorded):
    """The fuzzer's base body is accepted, so the mutations above start from a real success."""
    r = world.client().post_json(
        "/api/copilot/log", json.loads(_fill(world, json.dumps(_log_valid()).encode())), csrf=False, token=bearer
    )
    assert r.status == 201, r.text
    recorded.append(r.json()["public_id"])


# -- pages: the decision form -----------------------------------------------------------------------
FORM_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "approve",
            "reject",
            "cosign",
            "escalate",
            "APPROVE",
            " approve ",
            "",
            "0",
            "-1",
            "99999999999999999999",
            "1e9",
            "\x00",
            "\ud800",
        ]
    ),
    _huge_text(),
)
FORM_FIELDS = st.fixed_dictionaries(
    {}, optional={"decision": FORM_TEXT, "note": FORM_TEXT, "version": FORM_TEXT, "extra": FORM_TEXT}
)


def _form_bytes(fields: dict) -> bytes:
    return urllib.parse.urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}).encode()


@FUZZ
@given(
    fields=FORM_FIELDS,
    target=st.one_of(
        st.just("fresh"),
        st.text(max_size=30),
        st.sampled_from(["P-AAAAAA", "p-aaaaaa", "AAAAAA", "P-", "%00", "..%2F..%2Fqueue", "P-" + "A" * 5000]),
    ),
    who=st.sampled_from(["alice", "sam"]),
    csrf=st.sampled_from(["good", "none", "wrong"]),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_decision_form_survives_any_fields(world, alice_session, sam_session, fields, target, who, csrf, raw):
    client = alice_session if who == "alice" else sam_session
    proposal = world.handoff("agent") if target == "fresh" else None
    path_id = proposal.public_id if proposal else urllib.parse.quote(target, safe="%")
    body = dict(fields)
    if csrf == "good":
        body["csrf_token"] = client.csrf
    elif csrf == "wrong":
        body["csrf_token"] = "not-the-token"
    payload = raw if raw is not None else _form_bytes(body)
    r = post_api(
        world, client, f"/proposals/{path_id}/decide", payload, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_sane_page(r, (path_id, payload[:200]))
    if proposal is not None:
        after = world.ledger.get(proposal.public_id)
        if r.status == 303:  # the desk said the decision was recorded: it is, and nothing else changed
            assert after.version > proposal.version and after.decisions, after
        elif r.status >= 400:
            assert after.version == proposal.version and after.status == proposal.status, (r.status, after)


# -- pages: the sign-in form ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def login_world(tmp_path_factory):
    """Its own desk: failed sign-ins lock names and the loopback address out (429), which must not
    leak into the other tests' sign-ins."""
    w = make_world(tmp_path_factory.mktemp("desk-fuzz-login"))
    yield w
    w.server.stop()
    w.engine.dispose()


LOGIN_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "alice",
            "ALICE",
            " alice ",
            "alice\x00",
            "ada",
            "",
            "' OR 1=1 --",
            "\ud800",
            "https://evil.example",
            "//evil.example",
            "/queue",
            "/\\evil.example",
        ]
    ),
    _huge_text(),
)


@FUZZ
@given(
    fields=st.fixed_dictionaries({}, optional={"name": LOGIN_TEXT, "password": LOGIN_TEXT, "next": LOGIN_TEXT}),
    csrf=st.sampled_from(["good", "none", "wrong", "no-cookie"]),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_login_form_survives_any_fields(login_world, fields, csrf, raw):
    client = login_world.client()
    page = client.get("/login")
    assert_sane_page(page, "/login")
    token = CSRF_INPUT.search(page.text).group(1)
    body = dict(fields)
    if csrf in ("good", "no-cookie"):
        body["csrf_token"] = token
    elif csrf == "wrong":
        body["csrf_token"] = "not-the-token"
    if csrf == "no-cookie":
        client.cookies.clear()
    payload = raw if raw is not None else _form_bytes(body)
    r = post_api(login_world, client, "/login", payload, {"Content-Type": "application/x-www-form-urlencoded"})
    assert_sane_page(r, payload[:200])
    if r.status == 303:
        assert (
            fields.get("password") == login_world.passwords.get((fields.get("name") or "").strip().lower())
            or fields.get("password") in login_world.passwords.values()
        ), fields


# -- nothing confirmed is lost ----------------------------------------------------------------------
def test_every_recorded_proposal_is_still_there_and_the_chain_verifies(world, recorded):
    assert recorded, "the fuzzing recorded nothing at all: the base body must be accepted"
    for public_id in recorded:
        world.ledger.get(public_id)
    report = world.ledger.verify()
    assert report.ok, report.problems
