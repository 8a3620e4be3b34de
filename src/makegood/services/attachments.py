"""Photos a customer sends in the chat (a damaged item, a wrong label), kept with the case.

    photos = open_attachments(services)            # the ledger + the file store of the settings
    added = photos.add("web-3f2a9c", data)         # ImageRefused: a clear message, nothing kept
    added.attachment.sha256, added.created, added.thumbnail
    photos.list_for_conversation("web-3f2a9c")     # [Attachment, ...], oldest first
    photos.read(sha256)                            # (Attachment, bytes) or None

What is kept is never what was sent. The type comes from the bytes (magic numbers, then
Pillow must agree), never from the file name or the Content-Type the browser claims; the
image is decoded in full (a truncated or corrupt file is refused) and encoded again from its
pixels alone, so EXIF (the phone's GPS position among it), XMP, ICC profiles and text chunks
are gone. The orientation the phone recorded is applied to the pixels first, so the photo
still stands the right way up without its EXIF.

Where it is kept: the bytes in a content-addressed `FileStore` (`<dir>/<ab>/<sha256>`, one file
for the same photo sent twice or in two chats), the record in the ledger's `attachments` table,
written by `Ledger.record_attachment` in one unit of work with an `attachment_added` audit
event, so `makegood ledger verify` vouches for it. The file is written first (temporary name,
fsync, rename) and the record second; if the record fails, a file this call created and no
record refers to is removed again. Neither is ever left without the other.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from makegood.config import get_settings
from makegood.errors import MakegoodError

log = logging.getLogger(__name__)

MAX_BYTES = 10_000_000  # "10 MB", in the same decimal megabytes as the desk's other limits
# A decompression bomb is a small file that decodes to a huge bitmap. 50 megapixels holds every
# phone camera's normal mode (a 48 MP sensor is 8000 x 6000) and stays below Pillow's own
# warning threshold (about 89 MP), so our refusal, with its message, always comes first.
MAX_PIXELS = 50_000_000
MAX_PER_CONVERSATION = 20  # a chat is a case, not a photo album; also bounds what one sender can store
THUMBNAIL_BOX = 320

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_KEEP_MODES = {"JPEG": ("L", "RGB"), "PNG": ("1", "L", "LA", "RGB", "RGBA"), "WEBP": ("RGB", "RGBA")}
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 90, "optimize": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 90, "method": 4},
}
# What Pillow's decoders raise for a file that is damaged, truncated or lying about itself.
_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ACCEPTED = "a JPEG, PNG or WebP photo"


class ImageRefused(MakegoodError):
    """The upload is not a photo we keep. `reason` is one of REASONS (the desk maps it to an
    HTTP status); the message says what was wrong and what to do."""

    REASONS = ("empty", "too_large", "not_an_image", "too_many_pixels", "damaged", "too_many")

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    conversation_id: str  # the Rasa sender id
    sha256: str  # of the bytes kept (after re-encoding), which is also the file's name
    media_type: str
    size: int  # bytes kept
    width: int
    height: int
    created_at: datetime
    proposal_public_id: str | None  # the case that was open in this chat when the photo came, if any


@dataclass(frozen=True)
class Added:
    attachment: Attachment
    created: bool  # False: this chat already had exactly this photo; nothing new was written
    thumbnail: bytes  # a small JPEG or PNG of what was kept, for the chat to show
    thumbnail_type: str


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    media_type: str
    width: int
    height: int


# -- the bytes ---------------------------------------------------------------------------------------
def sniff(data: bytes) -> str | None:
    """The image format the bytes say they are ("JPEG", "PNG", "WEBP"), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _megabytes(n: int) -> str:
    """Rounded up to a tenth, so a size over the limit never reads as the limit itself."""
    return f"{math.ceil(n / 100_000) / 10:.1f}".removesuffix(".0")


def sanitise(data: bytes) -> CleanImage:
    """The photo in `data`, decoded and encoded again without any metadata. ImageRefused otherwise."""
    if not data:
        raise ImageRefused("empty", "The photo is empty (0 bytes). Please choose the picture again.")
    if len(data) > MAX_BYTES:
        raise ImageRefused(
            "too_large",
            f"The photo is {_megabytes(len(data))} MB, more than the {_megabytes(MAX_BYTES)} MB we can take. "
            f"Please send a smaller one (a screenshot of it works too).",
        )
    kind = sniff(data)
    if kind is None:
        raise ImageRefused("not_an_image", f"That file is not {ACCEPTED}. Please send a photo in one of those formats.")
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(width, height)
            opened.load()  # decodes everything: truncated and corrupt files fail here
            clean = _pixels_only(opened, kind)
        out = io.BytesIO()
        clean.save(out, kind, **_SAVE_OPTIONS[kind])
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels(0, 0) from None
    except _UNREADABLE as exc:
        log.info("refused an unreadable %s upload: %s", kind, exc)
        raise ImageRefused(
            "damaged",
            f"The photo could not be read: the file looks damaged or incomplete. Please send it again, "
            f"or take a new one ({ACCEPTED}).",
        ) from None
    return CleanImage(out.getvalue(), MEDIA_TYPES[kind], clean.width, clean.height)


def _too_many_pixels(width: int, height: int) -> ImageRefused:
    size = f" ({width} x {height})" if width and height else ""
    return ImageRefused(
        "too_many_pixels",
        f"The picture is too large to open{size}: at most {MAX_PIXELS // 1_000_000} megapixels. "
        f"Please send a smaller version of it.",
    )


def _pixels_only(image: Image.Image, kind: str) -> Image.Image:
    """A new image holding only the (upright) pixels of `image`: no EXIF, XMP, ICC or text."""
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    upright = ImageOps.exif_transpose(image)  # always a new image: `image` is left as it was
    if upright.mode in _KEEP_MODES[kind]:
        clean = upright
    else:  # palettes, CMYK, 16-bit: as browsers show them
        clean = upright.convert("RGBA" if transparent and kind != "JPEG" else "RGB")
    # Every encoder reads metadata from the image's `info` (JPEG comments, PNG ICC profiles and
    # transparency) or from what is passed to save(), which is nothing: emptied, nothing is left.
    clean.info = {}
    return clean


def thumbnail(data: bytes) -> tuple[bytes, str]:
    """A small PNG (when the photo has transparency) or JPEG of kept image bytes."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (THUMBNAIL_BOX, THUMBNAIL_BOX))  # JPEG: decode at a reduced scale, cheaply
        small = image.convert("RGBA" if image.mode in ("RGBA", "LA") else "RGB")
        small.thumbnail((THUMBNAIL_BOX, THUMBNAIL_BOX))
    out = io.BytesIO()
    if small.mode == "RGBA":
        small.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    small.save(out, "JPEG", quality=80)
    return out.getvalue(), "image/jpeg"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the files ---------------------------------------------------------------------------------------
class AttachmentDamaged(MakegoodError):
    """A kept file no longer hashes to its name: it was changed on disk outside Makegood."""


class FileStore:
    """Immutable files named by their sha256 under `root` (`<root>/<first two hex>/<sha256>`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not SHA256.match(sha256 or ""):
            raise ValueError(f"not a sha256: {sha256!r}")  # never build a path from anything else
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> bool:
        """Keep `data` as `sha256`; True when this call created the file (it was not there)."""
        final = self.path(sha256)
        if final.is_file():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            # A reader sees the whole file or none: rename is atomic within one directory.
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def ensure(self, sha256: str, data: bytes) -> None:
        """Put the file back if it vanished (a failed upload of the same photo removed it)."""
        if not self.path(sha256).is_file():
            self.put(sha256, data)

    def read(self, sha256: str) -> bytes | None:
        """The bytes kept as `sha256`; None when there is no such file; AttachmentDamaged when
        the bytes no longer hash to the name."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        if sha256_of(data) != sha256:
            raise AttachmentDamaged(f"the kept photo {sha256[:12]}… was changed on disk: its bytes no longer match")
        return data

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


# -- the use case ------------------------------------------------------------------------------------
class Attachments:
    """The photos of each conversation: added through `add`, read by the live conversation
    view (`list_for_conversation`) and the desk (`read`)."""

    def __init__(self, ledger: Any, files: FileStore, *, per_conversation: int = MAX_PER_CONVERSATION) -> None:
        self.ledger = ledger
        self.files = files
        self.per_conversation = per_conversation

    def add(self, conversation_id: str, data: bytes) -> Added:
        """Keep the photo in `data` with the conversation's case. Sending the same photo again in
        the same chat changes nothing (created=False). ImageRefused: nothing was kept."""
        conversation_id = _conversation(conversation_id)
        image = sanitise(data)
        sha = sha256_of(image.data)
        kept = self.ledger.attachments(conversation_id=conversation_id)
        if len(kept) >= self.per_conversation and all(row["sha256"] != sha for row in kept):
            raise ImageRefused(
                "too_many",
                f"This chat already has {self.per_conversation} photos, the most one case can hold. "
                f"An agent will ask if they need another.",
            )
        created_file = self.files.put(sha, image.data)
        try:
            row, created = self.ledger.record_attachment(
                conversation_id,
                sha,
                media_type=image.media_type,
                size=len(image.data),
                width=image.width,
                height=image.height,
                # Inside the record's transaction, under the ledger's write lock: a failed upload of
                # the same photo (see `_release`) cannot remove the file between this check and commit.
                before_commit=lambda: self.files.ensure(sha, image.data),
            )
        except BaseException:
            if created_file:
                self._release(sha)
            raise
        small, small_type = thumbnail(image.data)
        return Added(_attachment(row), created, small, small_type)

    def _release(self, sha: str) -> None:
        try:
            self.ledger.release_attachment_file(sha, lambda: self.files.remove(sha))
        except Exception:  # the original failure is what the caller must see; an orphan file is harmless
            log.exception("could not remove the unrecorded photo %s; it is an orphan file now", sha[:12])

    def list_for_conversation(self, conversation_id: str) -> list[Attachment]:
        """Every photo kept for this conversation (the Rasa sender id), oldest first; [] for none."""
        return [_attachment(row) for row in self.ledger.attachments(conversation_id=str(conversation_id or ""))]

    def read(self, sha256: str) -> tuple[Attachment, bytes] | None:
        """A kept photo and its bytes, or None when no conversation has it (or the text is not a
        sha256). AttachmentDamaged when its file was changed on disk; None when it is gone."""
        if not SHA256.match(sha256 or ""):
            return None
        rows = self.ledger.attachments(sha256=sha256)
        if not rows:
            return None
        data = self.files.read(sha256)
        if data is None:
            log.error("the photo %s has a record but no file under %s", sha256[:12], self.files.root)
            return None
        return _attachment(rows[0]), data


def _conversation(conversation_id: Any) -> str:
    text = str(conversation_id or "").strip() if isinstance(conversation_id, str) else ""
    if not text or len(text) > 128:
        raise MakegoodError("a photo needs the conversation it belongs to (the chat's sender id, 1 to 128 characters)")
    return text


def _attachment(row: Mapping[str, Any]) -> Attachment:
    return Attachment(
        conversation_id=row["conversation_id"],
        sha256=row["sha256"],
        media_type=row["media_type"],
        size=int(row["size"]),
        width=int(row["width"]),
        height=int(row["height"]),
        created_at=row["created_at"],
        proposal_public_id=row["proposal_public_id"],
    )


def open_attachments(services: Any, directory: Path | None = None) -> Attachments:
    """The attachments of this wiring: its ledger, and the files under `directory` (default: the
    settings' MAKEGOOD_ATTACHMENTS_DIR, read now). Cheap: nothing is opened until used."""
    root = directory or get_settings().attachments_dir
    if root is None:  # pragma: no cover - get_settings() always sets it
        raise MakegoodError("no directory is configured for attachments (MAKEGOOD_ATTACHMENTS_DIR)")
    return Attachments(services.ledger, FileStore(root))
