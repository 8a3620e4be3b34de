"""The desk's pages: sign-in, queue, proposal detail and decisions, review, copilot panel."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sanic.response import HTTPResponse, json, redirect

from makegood.desk import auth
from makegood.desk.context import blocking, desk_of
from makegood.desk.present import transcript
from makegood.desk.queue import QUEUE_LIMIT, actions_for, build_queue
from makegood.errors import DecisionConflict, LedgerError, StoreUnavailable
from makegood.ledger import normalise_public_id
from makegood.services import decisions, delivery
from makegood.services.attachments import open_attachments

NOTE_LIMIT = 2000
CONFLICT_MESSAGE = "Someone decided this a moment ago. Here is the proposal as it stands now."


def register(app: Any) -> None:
    app.add_route(health, "/health", methods=["GET"])
    app.add_route(favicon, "/favicon.ico", methods=["GET"])
    app.add_route(home, "/", methods=["GET"])
    app.add_route(login_form, "/login", methods=["GET"])
    app.add_route(login, "/login", methods=["POST"])
    app.add_route(logout, "/logout", methods=["POST"])
    app.add_route(queue, "/queue", methods=["GET"])
    app.add_route(proposal, "/proposals/<public_id:str>", methods=["GET"])
    app.add_route(decide, "/proposals/<public_id:str>/decide", methods=["POST"])
    app.add_route(mark_delivered, "/proposals/<public_id:str>/delivered", methods=["POST"])
    app.add_route(review, "/review", methods=["GET"])
    app.add_route(record_review, "/review/<public_id:str>", methods=["POST"])
    app.add_route(copilot, "/copilot", methods=["GET"])


def _ledger_role(role: str) -> str | None:
    from makegood.accounts import ledger_role

    return ledger_role(role)


def _forbidden(request: Any, message: str) -> HTTPResponse:
    return desk_of(request).render(request, "error.html", status=403, title="Forbidden", message=message)


def _form(request: Any, name: str, limit: int = NOTE_LIMIT) -> str:
    value = (request.form.get(name) if request.form else None) or ""
    return value.strip()[:limit]


# -- public -----------------------------------------------------------------------------------------
async def health(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    try:
        await blocking(lambda: desk.services().ledger.count())
    except StoreUnavailable as exc:
        return json({"status": "unavailable", "error": str(exc)}, status=503)
    return json({"status": "ok"})


async def favicon(request: Any) -> HTTPResponse:
    return HTTPResponse(status=204)


async def home(request: Any) -> HTTPResponse:
    return redirect("/queue", status=303)


async def login_form(request: Any) -> HTTPResponse:
    return _login_page(request, request.args.get("next"))


def _login_page(
    request: Any, next_path: str | None, *, error: str | None = None, name: str = "", status: int = 200
) -> HTTPResponse:
    desk = desk_of(request)
    token = auth.new_login_token()
    response = desk.render(
        request, "login.html", status=status, login_token=token, error=error, name=name, next=auth.safe_next(next_path)
    )
    auth.cookie(response, auth.LOGIN_COOKIE, token, secure=desk.secure_cookies, max_age=3600, path="/login")
    return response


async def login(request: Any) -> HTTPResponse:
    from makegood.accounts import csrf_ok

    desk = desk_of(request)
    name = _form(request, "name", 80)
    password = (request.form.get("password") if request.form else None) or ""
    next_path = _form(request, "next", 500)
    expected = request.cookies.get(auth.LOGIN_COOKIE) or ""
    given = _form(request, auth.CSRF_FIELD, 200)
    if not expected or not given or not csrf_ok(expected, given):
        return _login_page(
            request, next_path, name=name, status=403, error="The sign-in form expired. Please try again."
        )
    if not name or not password:
        return _login_page(request, next_path, name=name, status=400, error="Enter your name and password.")
    attempt = await blocking(desk.accounts.sign_in, name, password[:1024], _client_address(request))
    if attempt.locked:
        return _locked_out(request, next_path, name, attempt.retry_after)
    user = attempt.user
    if user is None or not getattr(user, "active", True):
        return _login_page(
            request, next_path, name=name, status=401, error="That name and password don't match. Please try again."
        )
    old = request.cookies.get(auth.SESSION_COOKIE)
    if old:
        await blocking(desk.accounts.end_session, old)
        desk.forget_session(old)
    session_id, _csrf = await blocking(desk.accounts.create_session, user.name)
    response = redirect(auth.safe_next(next_path), status=303)
    auth.cookie(response, auth.SESSION_COOKIE, session_id, secure=desk.secure_cookies)
    auth.forget_cookie(response, auth.LOGIN_COOKIE, secure=desk.secure_cookies, path="/login")
    return response


def _client_address(request: Any) -> str:
    """The client's address for sign-in throttling: the proxy-reported one when the app is
    configured to trust a proxy (Sanic's remote_addr), else the peer's."""
    return str(getattr(request, "remote_addr", "") or getattr(request, "ip", "") or "")[:64]


def _locked_out(request: Any, next_path: str, name: str, seconds: int) -> HTTPResponse:
    """429 with Retry-After: the login page with a lockout notice, or JSON for API clients."""
    seconds = max(1, int(seconds))
    minutes = (seconds + 59) // 60
    until = datetime.now(timezone.utc).timestamp() + seconds
    at = datetime.fromtimestamp(until, timezone.utc).strftime("%H:%M UTC")
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds >= 60 else f"{seconds} seconds"
    message = (
        f"Too many failed sign-ins for this account or from your address: signing in is paused for "
        f"{wait} (until {at}). Try again then, or ask an admin to unlock your account."
    )
    headers = {"Retry-After": str(seconds)}
    accept = (request.headers.get("accept") or "").lower()
    if "application/json" in accept and "text/html" not in accept:
        return json({"error": message, "retry_after": seconds}, status=429, headers=headers)
    response = _login_page(request, next_path, name=name, status=429, error=message)
    response.headers["Retry-After"] = headers["Retry-After"]
    return response


async def logout(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    principal = request.ctx.principal
    if principal.session_id:
        await blocking(desk.accounts.end_session, principal.session_id)
        desk.forget_session(principal.session_id)
    response = redirect("/login", status=303)
    auth.forget_cookie(response, auth.SESSION_COOKIE, secure=desk.secure_cookies)
    return response


# -- queue ------------------------------------------------------------------------------------------
async def queue(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    user = request.ctx.principal.user
    role = _ledger_role(user.role)

    def load():
        ledger = desk.services().ledger
        pending = ledger.list(status="pending", limit=QUEUE_LIMIT)
        approved = ledger.list(status="approved", limit=QUEUE_LIMIT) if role else []
        to_deliver = delivery.denials_to_deliver(desk.services(), user.name) if role == "supervisor" else []
        return build_queue(user.name, user.role, role, pending, approved, to_deliver=to_deliver)

    built = await blocking(load)
    return desk.render(request, "queue.html", title="Queue", queue=built, now=datetime.now(timezone.utc))


# -- one proposal -----------------------------------------------------------------------------------
async def _load(request: Any, public_id: str) -> Any:
    desk = desk_of(request)
    return await blocking(lambda: desk.services().ledger.get(normalise_public_id(public_id)))


def _proposal_page(
    request: Any, p: Any, *, status: int = 200, messages: list | None = None, note: str = "", photos: Any = ()
) -> HTTPResponse:
    desk = desk_of(request)
    user = request.ctx.principal.user
    return desk.render(
        request,
        "proposal.html",
        status=status,
        title=p.public_id,
        p=p,
        turns=transcript(p),
        actions=actions_for(p, user.name, _ledger_role(user.role)),
        context=p.context or {},
        note=note,
        messages=messages or [],
        now=datetime.now(timezone.utc),
        photos=photos,
    )


async def proposal(request: Any, public_id: str) -> HTTPResponse:
    p = await _load(request, public_id)
    desk = desk_of(request)
    photos = await blocking(lambda: open_attachments(desk.services()).list_for_conversation(p.conversation_id))
    return _proposal_page(request, p, photos=photos)


async def decide(request: Any, public_id: str) -> HTTPResponse:
    desk = desk_of(request)
    user = request.ctx.principal.user
    role = _ledger_role(user.role)
    if role is None:
        return _forbidden(request, f"{user.name} is {_a(user.role)}: only agents and supervisors decide proposals.")
    current = await _load(request, public_id)
    decision = _form(request, "decision", 20).lower()
    note = _form(request, "note")
    version_text = _form(request, "version", 20)
    expected = int(version_text) if version_text.isdigit() else None
    try:
        updated = await blocking(
            decisions.decide,
            desk.services(),
            current.public_id,
            actor=user.name,
            role=role,
            decision=decision,
            note=note,
            expected_version=expected,
        )
    except DecisionConflict:
        fresh = await _load(request, public_id)
        return _proposal_page(request, fresh, status=409, messages=[("error", CONFLICT_MESSAGE)], note=note)
    except LedgerError as exc:
        fresh = await _load(request, public_id)
        return _proposal_page(request, fresh, status=400, messages=[("error", str(exc))], note=note)
    if decision == "reject":
        # A supervisor's no is theirs to tell, in the chat, with what the agent can offer instead.
        chat = await blocking(delivery.chat_to_tell, desk.services(), updated, user.name)
        if chat is not None:
            desk.flash(
                request,
                "success",
                f"{updated.public_id} rejected. Tell the customer yourself: the message below is ready, "
                "with what can be offered instead.",
            )
            return redirect(f"/live/{chat}", status=303)
    desk.flash(request, "success", _decided_message(updated, decision))
    return redirect(f"/proposals/{updated.public_id}", status=303)


def _decided_message(p: Any, decision: str) -> str:
    if decision == "escalate":
        return f"{p.public_id} escalated: it now needs {_a(p.tier_required)}."
    if decision == "reject":
        return f"{p.public_id} rejected."
    if p.status == "approved":
        return f"{p.public_id} approved. The requester will see it under “Approved — tell the customer”."
    return f"{p.public_id}: your co-signature is recorded; it needs one more agent."


def _a(word: str) -> str:
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


async def mark_delivered(request: Any, public_id: str) -> HTTPResponse:
    desk = desk_of(request)
    user = request.ctx.principal.user
    current = await _load(request, public_id)
    if current.status != "approved" or current.requested_by.strip().casefold() != user.name.casefold():
        return _forbidden(request, "Only the person who requested an approved proposal marks it delivered.")
    if (current.context or {}).get("delivered_by"):
        desk.flash(request, "info", f"{current.public_id} was already marked delivered.")
        return redirect("/queue", status=303)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        await blocking(
            desk.services().ledger.update_proposal,
            current.public_id,
            context_patch={"delivered_by": user.name, "delivered_at": stamp},
            expected_version=current.version,
        )
    except DecisionConflict:
        fresh = await _load(request, public_id)
        return _proposal_page(request, fresh, status=409, messages=[("error", CONFLICT_MESSAGE)])
    except LedgerError as exc:
        fresh = await _load(request, public_id)
        return _proposal_page(request, fresh, status=400, messages=[("error", str(exc))])
    desk.flash(request, "success", f"{current.public_id} marked as delivered to the customer.")
    return redirect("/queue", status=303)


# -- review -----------------------------------------------------------------------------------------
async def review(request: Any) -> HTTPResponse:
    return await _review_page(request)


async def _review_page(
    request: Any, *, status: int = 200, messages: list | None = None, keep: Any | None = None
) -> HTTPResponse:
    desk = desk_of(request)
    user = request.ctx.principal.user
    if user.role not in auth.REVIEW_ROLES:
        return _forbidden(request, "The review page is for reviewers, supervisors and admins.")
    sample = await blocking(desk.services().ledger.review_sample, n=10, seed=None)
    if (
        keep is not None
        and keep.status == "approved"
        and not keep.reviews
        and all(p.public_id != keep.public_id for p in sample)
    ):
        sample = [keep] + sample[:9]
    return desk.render(
        request,
        "review.html",
        status=status,
        title="Review",
        sample=sample,
        messages=messages or [],
        now=datetime.now(timezone.utc),
    )


async def record_review(request: Any, public_id: str) -> HTTPResponse:
    desk = desk_of(request)
    user = request.ctx.principal.user
    if user.role not in auth.REVIEW_ROLES:
        return _forbidden(request, "Only reviewers, supervisors and admins record review verdicts.")
    verdict = _form(request, "verdict", 20).lower()
    note = _form(request, "note")
    pid = normalise_public_id(public_id)
    try:
        await blocking(desk.services().ledger.record_review, pid, reviewer=user.name, verdict=verdict, note=note)
    except LedgerError as exc:
        keep = None
        try:
            keep = await _load(request, pid)
        except LedgerError:
            pass
        return await _review_page(request, status=400, messages=[("error", str(exc))], keep=keep)
    desk.flash(request, "success", f"Verdict on {pid} recorded: {verdict}.")
    return redirect("/review", status=303)


# -- copilot panel ----------------------------------------------------------------------------------
async def copilot(request: Any) -> HTTPResponse:
    user = request.ctx.principal.user
    if user.role not in auth.COPILOT_ROLES:
        return _forbidden(request, "The copilot is for agents and supervisors.")
    return desk_of(request).render(request, "copilot.html", title="Copilot")
