"""The ledger's integrity beyond the hash chain: `verify` never crashes (a database moved away,
a row whose bytes no longer decode, a damaged file), head anchors catch a deleted or rewritten
tail, and a SQLite file that changes under a running process stops it loudly instead of it
writing into a new empty file. Chain and anchor tests run on PostgreSQL too when configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from makegood.cli import main
from makegood.db import make_engine, migrate
from makegood.errors import LedgerError, StoreUnavailable
from makegood.ledger import Ledger
from makegood.ledger.anchor import anchor_line, append_anchor, make_anchor, read_anchors

pytestmark = pytest.mark.integration


def _sql(ledger, statement, **params):
    with ledger.engine.begin() as connection:
        connection.execute(text(statement), params)


def filled(ledger, proposals, n=3):
    made = [proposals.make(tier="agent") for _ in range(n)]
    ledger.decide(made[0].public_id, "sam", "agent", "approve")
    return made


def anchor_now(ledger, path):
    events, head_hash = ledger.head()
    append_anchor(path, make_anchor(events, head_hash))


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


# -- anchors (both backends) ------------------------------------------------------------------------
def test_head_is_the_count_and_the_last_hash(ledger, proposals):
    assert ledger.head() == (0, "0" * 64)
    filled(ledger, proposals)
    events, head_hash = ledger.head()
    report = ledger.verify()
    assert events == report.checked == 5 and head_hash == report.head_hash


def test_a_deleted_tail_verifies_without_an_anchor_but_not_with_one(ledger, proposals, tmp_path):
    made = filled(ledger, proposals)
    last = proposals.make(tier="agent").public_id  # event 6
    log = tmp_path / "anchors.log"
    anchor_now(ledger, log)
    # Delete the newest proposal and its event: what is left is a perfectly valid, shorter chain.
    _sql(ledger, "DELETE FROM audit_events WHERE proposal_public_id = :pid", pid=last)
    _sql(ledger, "DELETE FROM proposals WHERE public_id = :pid", pid=last)
    assert ledger.verify().ok and made  # the chain alone cannot tell
    anchors, problems = read_anchors(log)
    report = ledger.verify(anchors)
    assert not report.ok and not problems
    [problem] = report.problems
    assert "records 6 events, but the chain now ends at event 5" in problem and "tail is gone" in problem


def test_a_rewritten_tail_is_caught_by_the_anchor(ledger, proposals, tmp_path):
    from makegood.ledger.canonical import chain_hash

    filled(ledger, proposals)
    log = tmp_path / "anchors.log"
    anchor_now(ledger, log)
    # Rewrite the last event consistently (new payload, recomputed hash): the chain still checks out.
    with ledger.engine.begin() as c:
        ev = (
            c.execute(
                text("SELECT id, kind, payload, row_digest, prev_hash FROM audit_events ORDER BY id DESC LIMIT 1")
            )
            .mappings()
            .one()
        )
        payload = json.loads(ev["payload"])
        payload["change"] = {"note": "rewritten"}
        new_payload = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        c.execute(
            text("UPDATE audit_events SET payload = :p, hash = :h WHERE id = :id"),
            {
                "p": new_payload,
                "h": chain_hash(ev["prev_hash"], ev["kind"], new_payload, ev["row_digest"]),
                "id": ev["id"],
            },
        )
    assert ledger.verify().ok
    report = ledger.verify(read_anchors(log)[0])
    [problem] = report.problems
    assert "records event 5 with hash" in problem and "rewritten at or before event 5" in problem


def test_anchors_keep_matching_while_the_ledger_grows(ledger, proposals, tmp_path):
    log = tmp_path / "anchors.log"
    anchor_now(ledger, log)  # an empty chain's anchor
    for _ in range(3):
        filled(ledger, proposals, n=1)
        anchor_now(ledger, log)
    anchors, problems = read_anchors(log)
    assert len(anchors) == 4 and not problems
    report = ledger.verify(anchors)
    assert report.ok and report.anchors == 4, report.problems


def test_a_deleted_whole_chain_is_caught_by_the_anchor(ledger, proposals, tmp_path):
    filled(ledger, proposals)
    log = tmp_path / "anchors.log"
    anchor_now(ledger, log)
    for table in ("audit_events", "reviews", "decisions", "proposals"):
        _sql(ledger, f"DELETE FROM {table}")  # noqa: S608 - table names from the literal tuple above
    assert ledger.verify().ok
    [problem] = ledger.verify(read_anchors(log)[0]).problems
    assert "every event was deleted" in problem


def test_a_damaged_anchor_log_is_reported(tmp_path):
    log = tmp_path / "anchors.log"
    append_anchor(log, make_anchor(3, "a" * 64))
    with log.open("a") as f:
        f.write("not json\n")
        f.write(json.dumps({"at": "x", "events": -1, "head_hash": "a" * 64}) + "\n")
    anchors, problems = read_anchors(log)
    assert [a.events for a in anchors] == [3]
    assert len(problems) == 2 and "line 2 is not an anchor" in problems[0] and "line 3" in problems[1]
    with pytest.raises(LedgerError, match="no such anchor log"):
        read_anchors(tmp_path / "missing.log")
    assert anchor_line(make_anchor(0, "0" * 64)).startswith('{"at": ')


# -- verify never crashes ---------------------------------------------------------------------------
def test_a_row_whose_bytes_do_not_decode_is_reported_not_raised(tmp_path):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'bytes.db'}")
    try:
        from tests.integration.conftest import Proposals

        factory = Proposals(ledger)
        made = [factory.make() for _ in range(3)]
        pid = made[1].public_id
        # Bytes no datetime, JSON or number parser accepts, written straight into the file's rows.
        _sql(ledger, "UPDATE proposals SET created_at = 'garbage', facts = x'ff00' WHERE public_id = :pid", pid=pid)
        _sql(ledger, "UPDATE audit_events SET payload = x'c3' WHERE id = 3")
        report = ledger.verify()
        assert not report.ok
        text_ = "\n".join(report.problems)
        assert "proposal row 2 cannot be read" in text_ and "stored bytes were changed" in text_
        assert "audit event 3" in text_
        # the other rows were still checked: nothing else is reported as missing or unlogged
        assert made[0].public_id not in text_
    finally:
        ledger.dispose()


def test_a_damaged_database_file_is_reported(tmp_path, monkeypatch, capsys):
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    ledger = Ledger.from_url(url)
    from tests.integration.conftest import Proposals

    factory = Proposals(ledger)
    for _ in range(30):
        factory.make()
    ledger.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 4096):  # scribble over every page but the header
        data[offset : offset + 200] = os.urandom(200)
    path.write_bytes(bytes(data))
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", url)
    code, out, err = run(["ledger", "verify"], capsys)
    assert code == 1 and "NOT OK" in out and "Traceback" not in err + out, (out, err)


def test_a_database_moved_away_is_not_ok_and_is_not_recreated(tmp_path, monkeypatch, capsys):
    path = tmp_path / "var" / "makegood.db"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    Ledger.from_url(url).dispose()
    path.rename(tmp_path / "elsewhere.db")
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", url)
    code, out, err = run(["ledger", "verify"], capsys)
    assert code == 1 and "does not exist: was it moved or deleted?" in out, (out, err)
    assert not path.exists()  # verify did not create an empty database in its place
    code, out, _ = run(["ledger", "verify", "--json"], capsys)
    assert code == 1 and json.loads(out)["ok"] is False


def test_a_database_that_is_not_a_ledger_is_not_ok(tmp_path, monkeypatch, capsys):
    for name, content in (("empty.db", b""), ("text.db", b"hello, I am not a database" * 100)):
        path = tmp_path / name
        path.write_bytes(content)
        monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{path}")
        code, out, err = run(["ledger", "verify"], capsys)
        assert code == 1 and "NOT OK" in out and not err, (name, out, err)
    dir_path = tmp_path / "a-directory.db"
    dir_path.mkdir()
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{dir_path}")
    code, out, _ = run(["ledger", "verify"], capsys)
    assert code == 1 and "is not a file" in out


def test_an_unreachable_postgres_is_not_ok(monkeypatch, capsys):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")
    code, out, err = run(["ledger", "verify"], capsys)
    assert code == 1 and "cannot be read" in out and not err


# -- the commands -----------------------------------------------------------------------------------
def test_anchor_and_verify_commands(backend_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", backend_url)
    engine = make_engine(backend_url)
    migrate(engine)
    ledger = Ledger(engine)
    try:
        from tests.integration.conftest import Proposals

        factory = Proposals(ledger)
        made = [factory.make() for _ in range(2)]
        log = tmp_path / "anchors.log"
        code, out, err = run(["ledger", "anchor", "--out", str(log)], capsys)
        assert code == 0 and "anchored 2 events" in out, err
        code, out, _ = run(["ledger", "verify", "--anchor", str(log)], capsys)
        assert code == 0 and "matches 1 anchored head" in out
        _sql(ledger, "DELETE FROM audit_events WHERE id = 2")
        _sql(ledger, "DELETE FROM proposals WHERE public_id = :pid", pid=made[1].public_id)
        code, out, _ = run(["ledger", "verify"], capsys)
        assert code == 0  # without the anchor the shortened chain looks fine
        code, out, _ = run(["ledger", "verify", "--anchor", str(log)], capsys)
        assert code == 1 and "tail is gone" in out
        monkeypatch.setenv("MAKEGOOD_ANCHOR_FILE", str(log))  # the default anchor log
        code, out, _ = run(["ledger", "verify"], capsys)
        assert code == 1 and "tail is gone" in out
        code, out, _ = run(["ledger", "anchor"], capsys)  # refuses to anchor the shortened chain
        assert code == 1 and "not anchored" in out
        assert len(log.read_text().splitlines()) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ledger", "verify", "--anchor", "/nonexistent/anchors.log"], "no such anchor log"),
        (["ledger", "verify", "--anchor", "/dev"], "not a regular file"),
        (["ledger", "anchor"], "needs --out FILE"),
        (["ledger", "anchor", "--out", "/nonexistent/dir/anchors.log"], "cannot write the anchor log"),
    ],
)
def test_usage_errors_are_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", f"sqlite:///{tmp_path / 'u.db'}")
    monkeypatch.delenv("MAKEGOOD_ANCHOR_FILE", raising=False)
    Ledger.from_url(f"sqlite:///{tmp_path / 'u.db'}").dispose()
    code, _out, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_verify_through_the_real_command_never_shows_a_traceback(tmp_path):
    makegood = Path(sys.executable).with_name("makegood")
    path = tmp_path / "gone.db"
    Ledger.from_url(f"sqlite:///{path}").dispose()
    path.unlink()
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": f"sqlite:///{path}"}
    result = subprocess.run([str(makegood), "ledger", "verify"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "NOT OK" in result.stdout


# -- a SQLite file that changes under the process ---------------------------------------------------
@pytest.mark.parametrize("how", ["moved", "deleted", "replaced"])
def test_a_sqlite_file_changed_under_the_process_fails_loudly(tmp_path, how):
    from tests.integration.conftest import Proposals

    path = tmp_path / "live.db"
    ledger = Ledger.from_url(f"sqlite:///{path}")
    factory = Proposals(ledger)
    try:
        factory.make()
        if how == "moved":
            path.rename(tmp_path / "moved.db")
        elif how == "deleted":
            path.unlink()
        else:
            (tmp_path / "other.db").write_bytes(b"")
            os.replace(tmp_path / "other.db", path)
        for attempt in ("read", "write"):
            with pytest.raises(StoreUnavailable) as err:
                if attempt == "read":
                    ledger.count()
                else:
                    factory.make()
            assert str(path) in str(err.value) and (
                "moved or deleted" in str(err.value) or "replaced" in str(err.value)
            )
        if how != "replaced":
            assert not path.exists()  # no new empty database was created in its place
    finally:
        ledger.dispose()


def test_the_file_guard_lets_a_restored_file_be_used_again(tmp_path):
    path = tmp_path / "live.db"
    ledger = Ledger.from_url(f"sqlite:///{path}")
    try:
        path.rename(tmp_path / "aside.db")
        with pytest.raises(StoreUnavailable):
            ledger.count()
        (tmp_path / "aside.db").rename(path)  # put back: same file, same inode
        assert ledger.count() == 0
    finally:
        ledger.dispose()
