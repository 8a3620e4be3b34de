"""POST /chat/upload and GET /attachments/<sha256>, end to end against a real desk: a photo
sent in the chat is kept (cleaned), acknowledged in the chat and in Rasa's tracker, and shown to
signed-in agents on the proposal; everything else gets a 4xx with a clear JSON error and leaves
no file and no record behind."""

from __future__ import annotations

import http.server
import io
import json
import re
import socket
import threading
import uuid
from pathlib import Path

import pytest
from PIL import Image

from makegood.desk.uploads import ACKNOWLEDGEMENT
from makegood.services.attachments import MAX_BYTES
from tests.desk.harness import make_world

pytestmark = pytest.mark.integration


# -- a desk whose photos go to a directory of this module ------------------------------------------------
@pytest.fixture(scope="module")
def attachments_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("attachments")


@pytest.fixture(scope="module")
def world(tmp_path_factory, attachments_dir):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MAKEGOOD_ATTACHMENTS_DIR", str(attachments_dir))
        env.delenv("MAKEGOOD_RASA_TOKEN", raising=False)
        w = make_world(tmp_path_factory.mktemp("desk"))
        yield w
        w.server.stop()
        w.engine.dispose()


class FakeRasa(http.server.ThreadingHTTPServer):
    """Takes tracker events like Rasa's HTTP API and remembers them."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def rasa(world):
    fake = FakeRasa()
    desk = world.server.app.ctx.desk
    unreachable, desk.rasa_url = desk.rasa_url, fake.url
    yield fake
    desk.rasa_url = unreachable
    fake.shutdown()
    fake.server_close()


# -- helpers ------------------------------------------------------------------------------------------------
def image_bytes(kind="JPEG", size=(48, 32), color=(180, 40, 40)) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMakerCo"
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 22.0, 23.0)})
    Image.new("RGB", size, color).save(out, kind, exif=exif.tobytes())
    return out.getvalue()


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    boundary = f"----makegood{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content_type, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client, sender: str | None, data: bytes | None, filename="photo.jpg", content_type="image/jpeg"):
    fields = {} if sender is None else {"sender": sender}
    files = [] if data is None else [("photo", filename, content_type, data)]
    body, header = multipart(fields, files)
    return client.request("POST", "/chat/upload", body=body, headers={"Content-Type": header})


def sender() -> str:
    return f"web-{uuid.uuid4().hex[:16]}"


def kept(attachments_dir: Path) -> set[Path]:
    return {p for p in attachments_dir.rglob("*") if p.is_file()}


# -- the customer sends a photo -----------------------------------------------------------------------------
def test_a_photo_is_kept_cleaned_and_acknowledged_even_when_rasa_is_unreachable(world, attachments_dir):
    me = sender()
    r = upload(world.client(), me, image_bytes())
    assert r.status == 201, r.text
    body = r.json()
    assert body["messages"] == [{"text": ACKNOWLEDGEMENT}] and body["in_transcript"] is False
    assert body["thumbnail"].startswith("data:image/jpeg;base64,")
    a = body["attachment"]
    assert a["media_type"] == "image/jpeg" and (a["width"], a["height"]) == (48, 32) and a["new"] is True
    stored = attachments_dir / a["sha256"][:2] / a["sha256"]
    assert stored.is_file() and b"PhoneMakerCo" not in stored.read_bytes()
    assert [x["sha256"] for x in world.ledger.attachments(conversation_id=me)] == [a["sha256"]]
    assert world.ledger.verify().ok


def test_the_acknowledgement_goes_into_the_conversation_s_rasa_tracker(world, rasa, monkeypatch):
    monkeypatch.setenv("MAKEGOOD_RASA_TOKEN", "rasa-secret")
    me = sender()
    r = upload(world.client(), me, image_bytes(color=(10, 120, 10)))
    assert r.status == 201 and r.json()["in_transcript"] is True
    [(path, [event])] = rasa.received
    assert path.startswith(f"/conversations/{me}/tracker/events?") and "token=rasa-secret" in path
    assert event["event"] == "bot" and event["text"] == ACKNOWLEDGEMENT
    assert event["metadata"]["attachment"]["sha256"] == r.json()["attachment"]["sha256"]


def test_a_png_named_jpg_and_sent_as_image_jpeg_is_kept_as_the_png_it_is(world):
    r = upload(world.client(), sender(), image_bytes("PNG"), filename="IMG_0001.jpg", content_type="image/jpeg")
    assert r.status == 201 and r.json()["attachment"]["media_type"] == "image/png"


def test_the_same_photo_again_is_answered_without_a_second_record(world):
    me, data = sender(), image_bytes(color=(1, 2, 3))
    first, again = upload(world.client(), me, data), upload(world.client(), me, data)
    assert (first.status, again.status) == (201, 200) and again.json()["attachment"]["new"] is False
    assert len(world.ledger.attachments(conversation_id=me)) == 1


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "status", "words"),
    [
        (HTML, "photo.jpg", "image/jpeg", 415, "not a JPEG, PNG or WebP"),
        (SVG, "drawing.svg", "image/svg+xml", 415, "not a JPEG, PNG or WebP"),
        (PDF, "receipt.pdf", "application/pdf", 415, "not a JPEG, PNG or WebP"),
        (b"", "photo.jpg", "image/jpeg", 400, "empty"),
        (b"\xff\xd8\xff" + b"\0" * (MAX_BYTES - 2), "big.jpg", "image/jpeg", 413, "more than the 10 MB"),
        (image_bytes()[:300], "cut.jpg", "image/jpeg", 422, "damaged or incomplete"),
    ],
    ids=["html-as-jpg", "svg", "pdf", "empty-file", "10MB+1", "truncated"],
)
def test_what_is_not_a_readable_photo_is_refused_and_nothing_is_left(
    world, attachments_dir, data, filename, content_type, status, words
):
    me, before, head = sender(), kept(attachments_dir), world.ledger.head()
    r = upload(world.client(), me, data, filename=filename, content_type=content_type)
    assert r.status == status and words in r.json()["error"], r.text
    assert kept(attachments_dir) == before and world.ledger.attachments(conversation_id=me) == []
    assert world.ledger.head() == head


@pytest.mark.parametrize(
    ("who", "words"),
    [(None, "conversation is missing"), ("", "conversation is missing"), ("../../etc", "sender must be")],
    ids=["no-sender", "empty-sender", "bad-sender"],
)
def test_a_photo_without_a_valid_conversation_is_refused(world, attachments_dir, who, words):
    before = kept(attachments_dir)
    r = upload(world.client(), who, image_bytes(color=(9, 9, 9)))
    assert r.status == 400 and words in r.json()["error"]
    assert kept(attachments_dir) == before


def test_a_request_without_a_photo_or_not_multipart_is_refused_clearly(world):
    client = world.client()
    r = upload(client, sender(), None)
    assert r.status == 400 and "no photo" in r.json()["error"]
    r = client.request("POST", "/chat/upload", body=b"", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status == 400 and "error" in r.json()
    r = client.post_json("/chat/upload", {"sender": sender(), "photo": "aGVsbG8="})
    assert r.status == 400 and "multipart/form-data" in r.json()["error"]


def test_two_photos_in_one_request_are_refused(world, attachments_dir):
    before = kept(attachments_dir)
    body, header = multipart(
        {"sender": sender()},
        [
            ("photo", "a.jpg", "image/jpeg", image_bytes(color=(5, 5, 5))),
            ("photo", "b.png", "image/png", image_bytes("PNG")),
        ],
    )
    r = world.client().request("POST", "/chat/upload", body=body, headers={"Content-Type": header})
    assert r.status == 400 and "one photo at a time" in r.json()["error"]
    assert kept(attachments_dir) == before


def raw_request(world, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send bytes urllib would not (a lying Content-Length, bad chunking); (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", world.server.port), timeout=15) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    header, _, payload = received.partition(b"\r\n\r\n")
    return int(header.split()[1]), json.loads(payload)


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(world, attachments_dir):
    before = kept(attachments_dir)
    status, body = raw_request(
        world,
        "POST /chat/upload HTTP/1.1\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=x\n"
        "Content-Length: 20000000\n",
    )
    assert status == 413 and "larger than 10 MB" in body["error"]
    assert kept(attachments_dir) == before


def test_a_malformed_chunked_upload_gets_a_json_error(world):
    status, body = raw_request(
        world,
        "POST /chat/upload HTTP/1.1\nHost: 127.0.0.1\nContent-Type: multipart/form-data; boundary=x\n"
        "Transfer-Encoding: chunked\n",
        b"zz-not-a-size\r\nhello\r\n",
    )
    assert status == 400 and "incomplete or malformed" in body["error"]


def test_the_rest_of_the_desk_keeps_its_1_mb_limit(world):
    r = world.client().post_json("/chat/send", raw=b'{"sender": "web-x", "message": "' + b"a" * 1_100_000 + b'"}')
    assert r.status == 413


# -- agents see it ------------------------------------------------------------------------------------------
def test_viewing_a_photo_needs_a_desk_sign_in(world):
    sha = upload(world.client(), sender(), image_bytes(color=(40, 40, 200))).json()["attachment"]["sha256"]
    r = world.client().get(f"/attachments/{sha}")
    assert r.status == 303 and r.location.startswith("/login")


def test_a_signed_in_agent_gets_the_kept_photo_with_its_type_and_nosniff(world, attachments_dir):
    sha = upload(world.client(), sender(), image_bytes("PNG", color=(200, 200, 0))).json()["attachment"]["sha256"]
    alice = world.signed_in("alice")
    r = alice.get(f"/attachments/{sha}")
    assert r.status == 200 and r.headers["Content-Type"] == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.body == (attachments_dir / sha[:2] / sha).read_bytes()
    thumb = alice.get(f"/attachments/{sha}?size=thumb")
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/jpeg" and thumb.body[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("what", ["0" * 64, "not-a-hash", "..%2F..%2Fetc%2Fpasswd"])
def test_an_unknown_photo_is_a_404(world, what):
    assert world.signed_in("alice").get(f"/attachments/{what}").status == 404


def test_the_proposal_page_shows_the_conversation_s_photos_linking_to_the_full_image(world):
    p = world.handoff("agent")
    sha = upload(world.client(), p.conversation_id, image_bytes(color=(90, 10, 90))).json()["attachment"]["sha256"]
    page = world.signed_in("alice").get(f"/proposals/{p.public_id}")
    assert page.status == 200
    assert f'<a href="/attachments/{sha}"' in page.text and f'src="/attachments/{sha}?size=thumb"' in page.text
    [row] = world.ledger.attachments(conversation_id=p.conversation_id)
    assert row["proposal_public_id"] == p.public_id


def test_the_chat_page_offers_the_photo_control_and_keeps_its_csp(world):
    r = world.client().get("/chat")
    assert r.status == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert 'id="chat-photo"' in r.text and 'type="file"' in r.text and "Attach a photo" in r.text
    assert '<script src="/static/chat-attach.js" defer></script>' in r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)  # no inline script
    assert world.client().get("/static/chat-attach.js").status == 200
