"""A photo of the damage in the same chat, and the desk's view of it.

    POST /chat/upload   multipart/form-data: sender=<the chat's sender id>, photo=<one image file>
        201 {"attachment": {...}, "thumbnail": "data:image/...", "messages": [{"text": ACKNOWLEDGEMENT}],
             "in_transcript": true|false}
        4xx {"error": "..."}: nothing was kept
    GET /attachments/<sha256>               the photo, for signed-in desk users (404 when unknown)
    GET /attachments/<sha256>?size=thumb    a small version of it, for the proposal page

The upload is public like /chat/send (same sender-id rules) and checked by the use case
(makegood.services.attachments): type from the bytes, decoded and encoded again without
metadata. The route streams its body so that it, and only it, may take more than the desk's
1 MB limit (Sanic lifts the app's limit for streaming handlers; this one applies its own).
After the photo is kept the bot's acknowledgement is appended to the conversation's Rasa
tracker (desk/rasa_api.py, token from MAKEGOOD_RASA_TOKEN); Rasa unreachable leaves the photo
kept and the acknowledgement shown all the same, with `"in_transcript": false`.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json, raw

from makegood.desk.context import blocking, desk_of
from makegood.desk.customer_side import SENDER
from makegood.desk.rasa_api import RasaApi, RasaUnavailable
from makegood.errors import MakegoodError, StoreUnavailable
from makegood.services.attachments import (
    MAX_BYTES,
    Added,
    AttachmentDamaged,
    ImageRefused,
    open_attachments,
    thumbnail,
)

log = logging.getLogger(__name__)

ACKNOWLEDGEMENT = "Thanks, I've added the photo to your case"
MAX_UPLOAD_BODY = MAX_BYTES + 64_000  # the photo plus the multipart envelope and the sender field
STATUS_FOR = {
    "empty": 400,
    "too_large": 413,
    "not_an_image": 415,
    "too_many_pixels": 413,
    "damaged": 422,
    "too_many": 409,
}
NOT_KEPT = "Sorry, we could not keep your photo just now. Please try again in a few minutes."
TOO_LARGE = f"The photo is larger than {MAX_BYTES // 1_000_000} MB. Please send a smaller one."


def register(app: Any) -> None:
    app.add_route(chat_upload, "/chat/upload", methods=["POST"], stream=True)
    app.add_route(view_attachment, "/attachments/<sha256:str>", methods=["GET"])


# -- the customer's side --------------------------------------------------------------------------
async def chat_upload(request: Any) -> HTTPResponse:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BODY:
        return _refused(413, TOO_LARGE)
    try:
        body = await _read_body(request)
    except SanicException:  # a body cut off or badly chunked: the desk's error page would be HTML
        return _refused(400, "the upload arrived incomplete or malformed; please send the photo again")
    if body is None:
        return _refused(413, TOO_LARGE)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return _refused(400, "send the photo as multipart/form-data, with the fields 'sender' and 'photo'")
    request.body = body  # Sanic parses the multipart form from here (an unparsable one reads as empty)
    sender = request.form.get("sender") or ""
    if not sender:
        return _refused(400, "the conversation is missing: send the chat's sender id in the 'sender' field")
    if not SENDER.match(sender):
        return _refused(400, "sender must be 1 to 64 letters, digits, - or _")
    photos = request.files.getlist("photo") or []
    if not photos:
        return _refused(400, "there is no photo: send the picture in the 'photo' field")
    if len(photos) > 1:
        return _refused(400, "send one photo at a time")
    desk = desk_of(request)
    try:
        added: Added = await blocking(lambda: open_attachments(desk.services()).add(sender, photos[0].body))
    except ImageRefused as refused:
        return _refused(STATUS_FOR.get(refused.reason, 400), str(refused))
    except StoreUnavailable as exc:
        log.warning("a photo from %s was not kept: %s", sender, exc)
        return _refused(503, NOT_KEPT)
    except MakegoodError as exc:
        return _refused(400, str(exc))
    except OSError:
        log.exception("a photo from %s could not be written", sender)
        return _refused(503, NOT_KEPT)
    in_transcript = await _acknowledge(desk.rasa_url, sender, added)
    a = added.attachment
    return json(
        {
            "attachment": {
                "sha256": a.sha256,
                "media_type": a.media_type,
                "size": a.size,
                "width": a.width,
                "height": a.height,
                "created_at": a.created_at.isoformat(),
                "proposal": a.proposal_public_id,
                "new": added.created,
            },
            "thumbnail": _data_url(added.thumbnail, added.thumbnail_type),
            "messages": [{"text": ACKNOWLEDGEMENT}],
            "in_transcript": in_transcript,
        },
        status=201 if added.created else 200,
    )


async def _read_body(request: Any) -> bytes | None:
    """The whole body, or None as soon as it passes MAX_UPLOAD_BODY (chunked bodies have no length)."""
    received = bytearray()
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            return bytes(received)
        received += chunk
        if len(received) > MAX_UPLOAD_BODY:
            return None


def _refused(status: int, message: str) -> HTTPResponse:
    return json({"error": message}, status=status)


def _data_url(data: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


async def _acknowledge(rasa_url: str | None, sender: str, added: Added) -> bool:
    """Put the acknowledgement in the conversation's tracker; False (logged) when Rasa is away."""
    event = {
        "event": "bot",
        "text": ACKNOWLEDGEMENT,
        "timestamp": time.time(),
        "metadata": {"attachment": {"sha256": added.attachment.sha256, "media_type": added.attachment.media_type}},
    }
    try:
        await blocking(RasaApi.from_env(rasa_url).append, sender, [event])
    except RasaUnavailable as exc:
        photo = added.attachment.sha256[:12]
        log.warning("photo %s kept; the acknowledgement is not in the transcript: %s", photo, exc)
        return False
    return True


# -- the desk's side -----------------------------------------------------------------------------
async def view_attachment(request: Any, sha256: str) -> HTTPResponse:
    # Signed-in desk users only: /attachments/ is not a public path, so the desk's middleware has
    # already sent anyone else to the sign-in page. Customers never read photos back.
    desk = desk_of(request)
    small = request.args.get("size") == "thumb"

    def load() -> tuple[bytes, str] | None:
        found = open_attachments(desk.services()).read(sha256.lower())
        if found is None:
            return None
        attachment, data = found
        return thumbnail(data) if small else (data, attachment.media_type)

    try:
        found = await blocking(load)
    except AttachmentDamaged as exc:
        log.error("refused to serve %s: %s", sha256[:12], exc)
        return desk.render(request, "error.html", status=500, title="Damaged", message=str(exc))
    if found is None:
        return desk.render(request, "error.html", status=404, title="Not found", message="there is no such photo")
    data, media_type = found
    return raw(
        data,
        content_type=media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        },
    )
