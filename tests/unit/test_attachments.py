"""Photos in the chat (services/attachments.py): what is kept is a clean re-encoding of a real
image, typed from its bytes; anything else is refused with nothing kept; every kept photo is in
the audit chain, so `verify` notices a record changed, removed or written around the ledger."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin, features
from sqlalchemy import text

from makegood.errors import MakegoodError, StoreUnavailable
from makegood.ledger import Ledger, ProposalIn
from makegood.services import attachments as mod
from makegood.services.attachments import (
    MAX_BYTES,
    AttachmentDamaged,
    Attachments,
    FileStore,
    ImageRefused,
    sha256_of,
)

# A real ledger (the audit chain is the point) on a database of each test's own, no server.
pytestmark = pytest.mark.unit

GPS_IFD = 0x8825
MAKE, ORIENTATION = 0x010F, 0x0112
SECRET_PLACE = "52.3731N 4.8922E, 12 Main Street"
# What Pillow's decoders report about any file (the JFIF header of every JPEG, WebP's animation
# fields even for one frame): how to decode it, not metadata about the photo.
HARMLESS_INFO = (
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "dpi",
    "background",
    "duration",
    "loop",
    "timestamp",
)


# -- images made here, with the metadata a phone writes ------------------------------------------------
def phone_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "PhoneMakerCo"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 22.0, 23.16), 3: "E", 4: (4.0, 53.0, 31.92)})
    return exif


def picture(size=(64, 48), mode="RGB") -> Image.Image:
    image = Image.new(mode, size, "white" if mode != "RGBA" else (255, 255, 255, 128))
    for x in range(size[0] // 2):  # something that is not flat, so every encoder has work to do
        image.putpixel((x, x % size[1]), (200, 30, 30) if mode == "RGB" else (200, 30, 30, 255))
    return image


def jpeg(orientation: int = 1, size=(64, 48)) -> bytes:
    out = io.BytesIO()
    picture(size).save(
        out, "JPEG", exif=phone_exif(orientation).tobytes(), icc_profile=b"FAKE-ICC" * 16, comment=SECRET_PLACE
    )
    return out.getvalue()


def png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", SECRET_PLACE)
    out = io.BytesIO()
    picture(mode="RGBA").save(out, "PNG", pnginfo=info, exif=phone_exif().tobytes())
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    picture().save(out, "WEBP", exif=phone_exif().tobytes(), xmp=f"<x:xmpmeta>{SECRET_PLACE}</x:xmpmeta>".encode())
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header says width x height (8-bit grey): the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def metadata_in(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return {
            "exif": dict(image.getexif()),
            "gps": dict(image.getexif().get_ifd(GPS_IFD)),
            "info": {k: v for k, v in image.info.items() if k not in HARMLESS_INFO},
        }


# -- the wiring: a real ledger on SQLite and a file store, both in tmp_path ----------------------------
@pytest.fixture
def ledger(backend_url):
    """SQLite always; PostgreSQL too (its own schema) when MAKEGOOD_TEST_POSTGRES_URL is set."""
    ledger = Ledger.from_url(backend_url)
    yield ledger
    ledger.dispose()


@pytest.fixture
def files(tmp_path) -> FileStore:
    return FileStore(tmp_path / "attachments")


@pytest.fixture
def photos(ledger, files) -> Attachments:
    return Attachments(ledger, files)


def kept_files(files: FileStore) -> list[Path]:
    return sorted(p for p in files.root.rglob("*") if p.is_file()) if files.root.exists() else []


def events(ledger, kind="attachment_added"):
    with ledger.engine.connect() as c:
        return c.execute(
            text("SELECT id, proposal_public_id, payload FROM audit_events WHERE kind = :k ORDER BY id"), {"k": kind}
        ).all()


def sql(ledger, statement, **params):
    with ledger.engine.begin() as c:
        c.execute(text(statement), params)


# -- what is kept --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "media_type"),
    [(jpeg, "image/jpeg"), (png, "image/png"), (webp, "image/webp")],
    ids=["jpeg", "png", "webp"],
)
def test_a_photo_is_kept_without_exif_gps_or_any_other_metadata(photos, files, make, media_type):
    if media_type == "image/webp" and not features.check("webp"):
        pytest.skip("this Pillow has no WebP support")
    sent = make()
    before = metadata_in(sent)
    assert before["gps"] and before["exif"][MAKE] == "PhoneMakerCo"  # the test image really carries them

    added = photos.add("web-abc123", sent)

    stored = files.path(added.attachment.sha256).read_bytes()
    after = metadata_in(stored)
    assert after == {"exif": {}, "gps": {}, "info": {}}
    for leak in (b"PhoneMakerCo", SECRET_PLACE.encode(), b"FAKE-ICC", b"Exif\0\0"):
        assert leak not in stored
    assert added.attachment.media_type == media_type and added.attachment.sha256 == sha256_of(stored)
    assert added.attachment.size == len(stored) and (added.attachment.width, added.attachment.height) == (64, 48)
    assert added.created and added.thumbnail[:3] in (b"\xff\xd8\xff", b"\x89PN")


def test_the_phone_s_orientation_is_applied_to_the_pixels_before_the_exif_goes(photos):
    added = photos.add("web-abc123", jpeg(orientation=6, size=(40, 20)))  # 6: rotate 90° to view
    assert (added.attachment.width, added.attachment.height) == (20, 40)


def test_the_type_comes_from_the_bytes_a_png_is_a_png_whatever_it_is_called(photos):
    assert photos.add("web-abc123", png()).attachment.media_type == "image/png"
    assert mod.sniff(png()) == "PNG" and mod.sniff(jpeg()) == "JPEG" and mod.sniff(b"GIF89a....") is None


# -- what is refused, and then nothing is kept ---------------------------------------------------------
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"", "empty", "empty"),
        (HTML, "not_an_image", "not a JPEG, PNG or WebP"),
        (PDF, "not_an_image", "not a JPEG, PNG or WebP"),
        (SVG, "not_an_image", "not a JPEG, PNG or WebP"),
        (b"\xff\xd8\xff" + b"\0" * (MAX_BYTES - 2), "too_large", "10.1 MB, more than the 10 MB"),  # 10 MB + 1 byte
        (png_header_claiming(8000, 8000), "too_many_pixels", "8000 x 8000"),  # 64 MP: over our limit
        (png_header_claiming(30000, 30000), "too_many_pixels", "megapixels"),  # Pillow's own bomb error
        (jpeg()[:400], "damaged", "damaged or incomplete"),  # truncated
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "damaged", "damaged or incomplete"),
        (b"RIFF\x10\0\0\0WEBPVP8 junk-junk-junk", "damaged", "damaged or incomplete"),
    ],
    ids=["empty", "html", "pdf", "svg", "10MB+1", "64MP", "bomb", "truncated-jpeg", "corrupt-png", "corrupt-webp"],
)
def test_anything_but_a_readable_photo_is_refused_and_nothing_is_kept(photos, ledger, files, data, reason, words):
    head = ledger.head()
    with pytest.raises(ImageRefused) as refused:
        photos.add("web-abc123", data)
    assert refused.value.reason == reason
    assert words in str(refused.value)
    assert kept_files(files) == [] and photos.list_for_conversation("web-abc123") == [] and ledger.head() == head


def test_exactly_10_mb_is_still_taken(photos):
    padded = png() + b"\0" * (MAX_BYTES - len(png()))  # bytes after IEND: still a readable PNG
    assert len(padded) == MAX_BYTES
    assert photos.add("web-abc123", padded).attachment.media_type == "image/png"


def test_a_photo_needs_its_conversation(photos, files):
    for missing in ("", "   ", None, "x" * 129):
        with pytest.raises(MakegoodError, match="conversation"):
            photos.add(missing, jpeg())
    assert kept_files(files) == []


def test_a_chat_holds_a_bounded_number_of_photos(ledger, files):
    photos = Attachments(ledger, files, per_conversation=2)
    first, second = photos.add("web-abc123", jpeg()), photos.add("web-abc123", png())
    with pytest.raises(ImageRefused) as refused:
        photos.add("web-abc123", jpeg(orientation=3))
    assert refused.value.reason == "too_many" and "2 photos" in str(refused.value)
    assert not photos.add("web-abc123", jpeg()).created  # one already there is still answered
    assert {p.sha256 for p in photos.list_for_conversation("web-abc123")} == {
        first.attachment.sha256,
        second.attachment.sha256,
    }


# -- the file and the record, never one without the other ----------------------------------------------
def test_when_the_record_cannot_be_written_the_file_is_removed_again(photos, files, monkeypatch):
    def down(*args, **kwargs):
        raise StoreUnavailable("cannot reach the database")

    monkeypatch.setattr(photos.ledger, "record_attachment", down)
    with pytest.raises(StoreUnavailable):
        photos.add("web-abc123", jpeg())
    assert kept_files(files) == []


def test_when_the_file_fails_inside_the_transaction_the_record_is_rolled_back(photos, ledger, files, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "ensure", disk_full)
    with pytest.raises(OSError, match="No space"):
        photos.add("web-abc123", jpeg())
    assert ledger.attachments(conversation_id="web-abc123") == [] and events(ledger) == []
    assert kept_files(files) == [] and ledger.verify().ok


def test_a_file_another_chat_still_uses_is_never_removed(photos, files, monkeypatch):
    kept = photos.add("web-first", jpeg()).attachment
    monkeypatch.setattr(
        photos.ledger, "record_attachment", lambda *a, **k: (_ for _ in ()).throw(StoreUnavailable("down"))
    )
    with pytest.raises(StoreUnavailable):
        photos.add("web-second", jpeg())
    assert kept_files(files) == [files.path(kept.sha256)]


def test_the_same_photo_twice_in_one_chat_is_kept_once_and_one_file_serves_two_chats(photos, ledger, files):
    a = photos.add("web-first", jpeg())
    again = photos.add("web-first", jpeg())
    other = photos.add("web-second", jpeg())
    assert a.created and not again.created and other.created
    assert again.attachment == a.attachment and other.attachment.sha256 == a.attachment.sha256
    assert len(events(ledger)) == 2 and kept_files(files) == [files.path(a.attachment.sha256)]


def test_list_for_conversation_gives_that_chat_s_photos_oldest_first(photos):
    first = photos.add("web-mine", jpeg()).attachment
    photos.add("web-theirs", webp() if features.check("webp") else jpeg(orientation=2))
    second = photos.add("web-mine", png()).attachment
    assert photos.list_for_conversation("web-mine") == [first, second]
    assert photos.list_for_conversation("web-nobody") == []


def test_read_gives_the_kept_bytes_and_refuses_a_file_changed_on_disk(photos, files):
    kept = photos.add("web-abc123", jpeg()).attachment
    found = photos.read(kept.sha256)
    assert found is not None and found[0] == kept and sha256_of(found[1]) == kept.sha256
    assert photos.read("0" * 64) is None and photos.read("../../etc/passwd") is None
    files.path(kept.sha256).write_bytes(b"something else")
    with pytest.raises(AttachmentDamaged):
        photos.read(kept.sha256)


# -- the audit chain -----------------------------------------------------------------------------------
def open_case(ledger, conversation_id, status="pending"):
    return ledger.log_proposal(
        ProposalIn(
            conversation_id=conversation_id,
            turn_key="handoff:1",
            channel="rest",
            situation="damaged_item",
            policy_version="test-v1",
            tier_required="agent",
            requested_by="bot",
            status=status,
            facts={"order_value": "80.00"},
            option_chosen={"remedy": "full_refund", "size": "80.00"},
        )
    )


def test_the_photo_is_in_the_audit_chain_with_the_open_case_and_verify_passes(photos, ledger):
    p = open_case(ledger, "web-case1")
    kept = photos.add("web-case1", jpeg()).attachment
    loose = photos.add("web-nocase", png()).attachment
    assert kept.proposal_public_id == p.public_id and loose.proposal_public_id is None
    logged = events(ledger)
    assert [e.proposal_public_id for e in logged] == [p.public_id, ""]
    assert kept.sha256 in logged[0].payload and loose.sha256 in logged[1].payload
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.checked == 3


def test_a_decided_case_is_not_where_a_new_photo_goes(photos, ledger):
    p = open_case(ledger, "web-case2")
    ledger.decide(p.public_id, "sam", "agent", "approve")
    assert photos.add("web-case2", jpeg()).attachment.proposal_public_id is None


def test_verify_catches_an_attachment_record_changed_removed_or_written_around_the_ledger(photos, ledger):
    first = photos.add("web-abc123", jpeg()).attachment
    photos.add("web-abc123", png())
    assert ledger.verify().ok

    sql(ledger, "UPDATE attachments SET sha256 = :h WHERE sha256 = :s", h="f" * 64, s=first.sha256)
    report = ledger.verify()
    assert not report.ok and any("attachment 1" in p and "sha256" in p for p in report.problems), report.problems

    sql(ledger, "DELETE FROM attachments WHERE id = 2")
    assert any("attachment 2" in p and "deleted" in p for p in ledger.verify().problems)

    sql(
        ledger,
        "INSERT INTO attachments (id, conversation_id, sha256, media_type, size, width, height, created_at) "
        "VALUES (99, 'web-x', :h, 'image/png', 1, 1, 1, '2026-12-01 10:00:00')",
        h="e" * 64,
    )
    assert any("written around the ledger" in p for p in ledger.verify().problems)
