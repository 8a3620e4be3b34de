// The live inbox (/live) and one live conversation (/live/<id>). Both poll the desk's API
// (an agent's tab is one per agent, so a poll every few seconds is cheap and survives any
// proxy); the customer's side is pushed (see /chat/events). Everything is built with DOM calls
// and textContent: no HTML from data.
(function () {
  "use strict";

  var INBOX_POLL_MS = 3000;
  var CHAT_POLL_MS = 1500;
  var TIER_TITLES = { peer: "Needs a second agent (peer)", supervisor: "Needs a supervisor", manager: "Needs a manager" };
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function humanize(name) {
    var t = String(name || "").replace(/_/g, " ").trim();
    return t ? t.charAt(0).toUpperCase() + t.slice(1) : "";
  }

  function since(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return "";
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    return s < 60 ? s + " s" : Math.round(s / 60) + " min";
  }

  function call(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    return fetch(path, options).then(function (resp) {
      return resp.json().catch(function () { return { error: "unexpected answer (HTTP " + resp.status + ")" }; })
        .then(function (data) { return { ok: resp.ok, status: resp.status, data: data }; });
    });
  }

  function every(ms, fn) {
    fn();
    window.setInterval(function () { if (!document.hidden) fn(); }, ms);
  }

  // -- the inbox ----------------------------------------------------------------------------------
  function inbox(root) {
    var me = root.getAttribute("data-agent");
    var mayWork = root.getAttribute("data-may-work") === "yes";
    var status = document.getElementById("inbox-status");
    var lists = {
      waiting: document.getElementById("inbox-waiting"),
      mine: document.getElementById("inbox-mine"),
      others: document.getElementById("inbox-others")
    };

    function item(c) {
      var li = el("li", "live-item");
      li.setAttribute("data-conversation", c.conversation_id);
      var a = el("a", "live-link", c.conversation_id);
      a.href = "/live/" + encodeURIComponent(c.conversation_id);
      li.appendChild(a);
      li.appendChild(el("span", "muted small", " · " + c.reason + " · waiting since " + since(c.handed_over_at) +
        (c.owner && c.owner !== me ? " · with " + c.owner : "") + (c.customer_id ? " · customer " + c.customer_id : "")));
      if (c.state === "waiting" && mayWork) {
        var take = el("button", "btn btn-small btn-primary", "Take");
        take.type = "button";
        take.addEventListener("click", function () {
          take.disabled = true;
          call("POST", "/api/conversations/" + encodeURIComponent(c.conversation_id) + "/claim").then(function (res) {
            if (res.ok) { window.location.href = a.href; return; }
            take.disabled = false;
            status.textContent = res.data.error || ("Not taken (HTTP " + res.status + ")");
            refresh();
          });
        });
        li.appendChild(take);
      }
      return li;
    }

    function fill(list, items) {
      list.textContent = "";
      if (!items.length) list.appendChild(el("li", "muted empty", list.getAttribute("data-empty")));
      items.forEach(function (c) { list.appendChild(item(c)); });
    }

    function refresh() {
      call("GET", "/api/conversations?state=all").then(function (res) {
        if (!res.ok) { status.textContent = res.data.error || ("HTTP " + res.status); return; }
        var all = res.data.conversations || [];
        fill(lists.waiting, all.filter(function (c) { return c.state === "waiting"; }));
        fill(lists.mine, all.filter(function (c) { return c.state === "claimed" && c.owner === me; }));
        fill(lists.others, all.filter(function (c) { return c.state === "claimed" && c.owner !== me; }));
        status.textContent = "Updated " + new Date().toLocaleTimeString();
      }).catch(function () { status.textContent = "The desk could not be reached. Retrying…"; });
    }

    every(INBOX_POLL_MS, refresh);
  }

  // -- one conversation ---------------------------------------------------------------------------
  function conversation(root) {
    var id = root.getAttribute("data-conversation");
    var me = root.getAttribute("data-agent");
    var mayWork = root.getAttribute("data-may-work") === "yes";
    var base = "/api/conversations/" + encodeURIComponent(id);
    var stateLine = document.getElementById("live-state");
    var claimBtn = document.getElementById("live-claim");
    var releaseBtn = document.getElementById("live-release");
    var errorBox = document.getElementById("live-error");
    var log = document.getElementById("live-transcript");
    var form = document.getElementById("live-reply");
    var text = document.getElementById("live-text");
    var packetBox = document.getElementById("live-packet");
    var proposalsBox = document.getElementById("live-proposals");
    var photosBox = document.getElementById("live-photos");
    var out = document.getElementById("suggestions");
    var copilotStatus = document.getElementById("copilot-status");
    var logResult = document.getElementById("log-result");
    var tellBox = document.getElementById("live-tellings");
    var deliverBtn = document.getElementById("live-deliver");
    var sendBtn = document.getElementById("live-send");
    var telling = null; // the decision this person tells the customer next (services.delivery decides whose)
    var prefilled = {}; // proposal ids whose wording was put in the reply box once (the agent may edit it)
    var shownTurns = -1;
    var seen = ""; // the customer's turns and the proposals' statuses the copilot last saw
    var current = null; // the last details
    var suggestion = null;
    var seq = 0;

    function showError(message) {
      errorBox.hidden = !message;
      errorBox.textContent = message || "";
    }

    function renderTranscript(turns) {
      if (turns.length === shownTurns) return;
      shownTurns = turns.length;
      log.textContent = "";
      turns.forEach(function (t) {
        var li = el("li", "bubble " + (t.speaker === "customer" ? "bubble-bot" : "bubble-me") + " turn-" + t.speaker);
        var who = t.speaker === "customer" ? "Customer" : (t.speaker === "agent" ? humanize(t.agent) : "Bot");
        li.appendChild(el("strong", "turn-who", who + ": "));
        li.appendChild(el("span", "turn-text", t.text));
        log.appendChild(li);
      });
      if (log.lastChild) log.lastChild.scrollIntoView({ block: "end" });
    }

    function offerList(items) {
      var ul = el("ul", "plain");
      (items || []).forEach(function (o) { ul.appendChild(el("li", null, o.text || humanize(o.remedy) + " " + (o.size || ""))); });
      if (!ul.firstChild) ul.appendChild(el("li", "muted", "nothing"));
      return ul;
    }

    function renderPacket(details) {
      if (packetBox.getAttribute("data-filled")) return;
      packetBox.textContent = "";
      var c = details.case;
      var conv = details.conversation;
      var dl = el("dl", "inline-dl");
      function row(term, value) { dl.appendChild(el("dt", null, term)); var dd = el("dd"); if (value && value.nodeType) dd.appendChild(value); else dd.textContent = value || "—"; dl.appendChild(dd); }
      row("Why", conv.reason);
      if (c) {
        var p = c.packet || {};
        row("Situation", humanize(c.situation));
        row("Order", c.order_id);
        row("Customer", c.customer_id);
        row("Needs", humanize(c.tier_required));
        var ask = p.customer_ask;
        row("The customer asks", ask ? (humanize(ask.remedy) + (ask.size ? " " + ask.size : "")) : "");
        row("Offered", offerList(p.offered));
        row("Declined", offerList(p.declined));
        if (p.missing_facts && p.missing_facts.length) row("Still unknown", p.missing_facts.map(humanize).join(", "));
        if (p.rules_cited && p.rules_cited.length) row("Rules", p.rules_cited.join(", "));
        var link = el("a", "pid", conv.handoff_proposal_id);
        link.href = "/proposals/" + encodeURIComponent(conv.handoff_proposal_id);
        row("Handoff", link);
      }
      packetBox.appendChild(dl);
      packetBox.setAttribute("data-filled", "yes");
    }

    function tellingLine(t) {
      var decided = t.outcome === "approved" ? "Approved by " + humanize(t.decided_by) : "Rejected by " + humanize(t.decided_by);
      if (t.mine) return decided + " — tell the customer" + (t.outcome === "rejected" ? ", with what can be offered instead" : "");
      return decided + " — " + (t.teller ? humanize(t.teller) + " tells the customer" : "whoever takes the chat tells the customer");
    }

    function renderTellings(list) {
      tellBox.textContent = "";
      telling = null;
      list.forEach(function (t) {
        var p = el("p", "flash " + (t.mine ? "flash-success" : "flash-info") + " telling telling-" + t.outcome);
        p.setAttribute("data-proposal", t.proposal_id);
        p.setAttribute("data-mine", t.mine ? "yes" : "no");
        var a = el("a", "pid", t.proposal_id);
        a.href = "/proposals/" + encodeURIComponent(t.proposal_id);
        p.appendChild(a);
        p.appendChild(document.createTextNode(" " + humanize(t.what) + ": " + tellingLine(t)));
        tellBox.appendChild(p);
        if (t.mine && !telling) telling = t;
      });
      if (telling && !prefilled[telling.proposal_id]) {
        prefilled[telling.proposal_id] = true;
        text.value = telling.wording;
      }
      deliverBtn.hidden = !telling;
    }

    function renderProposals(list) {
      var told = {};
      ((current && current.tellings) || []).forEach(function (t) { told[t.proposal_id] = t; });
      proposalsBox.textContent = "";
      list.forEach(function (p) {
        var li = el("li", "live-proposal");
        li.setAttribute("data-proposal", p.public_id);
        li.setAttribute("data-status", p.status);
        var a = el("a", "pid", p.public_id);
        a.href = "/proposals/" + encodeURIComponent(p.public_id);
        li.appendChild(a);
        var chosen = p.option_chosen || {};
        li.appendChild(document.createTextNode(" " + humanize(chosen.remedy || p.situation) + (chosen.size ? " " + chosen.size : "") +
          " · needs " + humanize(p.tier_required).toLowerCase() + " · "));
        li.appendChild(el("span", "status status-" + p.status, p.status));
        if (p.status === "pending" && p.requested_by === me) {
          li.appendChild(el("span", "muted small", " — waiting for a colleague; they decide it in their queue"));
        }
        if (told[p.public_id]) li.appendChild(el("span", "small telling-note", " — " + tellingLine(told[p.public_id])));
        proposalsBox.appendChild(li);
      });
      if (!list.length) proposalsBox.appendChild(el("li", "muted", "None yet."));
    }

    function renderPhotos(photos) {
      photosBox.textContent = "";
      if (!photos || !photos.length) return;
      photosBox.appendChild(el("h2", null, "Photos"));
      photos.forEach(function (ph) {
        var a = el("a");
        a.href = ph.url;
        var img = el("img", "live-photo");
        img.src = ph.url + "?size=thumb";
        img.alt = "Photo the customer sent";
        a.appendChild(img);
        photosBox.appendChild(a);
      });
    }

    function renderState(conv) {
      var mine = conv.state === "claimed" && conv.owner === me;
      var words = conv.state === "waiting" ? "Waiting for a person" :
        conv.state === "claimed" ? (mine ? "You are in this chat" : "With " + conv.owner) : "Back with the bot";
      stateLine.textContent = words;
      stateLine.setAttribute("data-state", conv.state);
      claimBtn.hidden = !(mayWork && conv.state === "waiting");
      releaseBtn.hidden = !mine;
      // A supervisor who rejected a request writes in a chat they do not own for that one message.
      form.hidden = !(mine || telling);
      sendBtn.hidden = !mine;
    }

    function refresh() {
      return call("GET", base).then(function (res) {
        if (!res.ok) { showError(res.data.error || ("HTTP " + res.status)); return; }
        current = res.data;
        showError(res.data.transcript_error ? "Transcript unavailable: " + res.data.transcript_error : "");
        renderTellings(res.data.tellings || []);
        renderState(res.data.conversation);
        renderTranscript(res.data.transcript || []);
        renderPacket(res.data);
        renderProposals(res.data.proposals || []);
        renderPhotos(res.data.attachments);
        // A new customer message, or a proposal decided (a grant changes what is left to offer).
        var now = (res.data.transcript || []).filter(function (t) { return t.speaker === "customer"; }).length + "|" +
          (res.data.proposals || []).map(function (p) { return p.public_id + ":" + p.status; }).join(",");
        if (now !== seen) { seen = now; suggest(); }
      }).catch(function () { showError("The desk could not be reached. Retrying…"); });
    }

    // -- the copilot panel, fed by the transcript ---------------------------------------------------
    function copilotRequest() {
      var turns = (current.transcript || []).map(function (t) {
        return { speaker: t.speaker === "customer" ? "customer" : "agent", text: t.text };
      }).slice(-200);
      var body = { turns: turns };
      if (current.case && current.case.order_id) body.order_id = current.case.order_id;
      if (current.case && current.case.customer_id) body.customer_id = current.case.customer_id;
      return body;
    }

    function suggest() {
      if (!mayWork || !current) return;
      var body = copilotRequest();
      if (!body.turns.length) return;
      var mine = ++seq;
      copilotStatus.textContent = "Thinking…";
      call("POST", "/api/copilot/suggest", body).then(function (res) {
        if (mine !== seq) return;
        if (!res.ok) { copilotStatus.textContent = res.data.error || ("HTTP " + res.status); return; }
        suggestion = { data: res.data, request: body };
        renderSuggestion(res.data);
        copilotStatus.textContent = "Updated " + new Date().toLocaleTimeString();
      }).catch(function () { if (mine === seq) copilotStatus.textContent = "The copilot could not be reached."; });
    }

    function section(title, className) {
      var s = el("section", "sugg " + (className || ""));
      s.appendChild(el("h3", null, title));
      out.appendChild(s);
      return s;
    }

    function optionList(container, options, pending) {
      var ul = el("ul", "options");
      options.forEach(function (o) {
        var li = el("li", "option");
        var t = el("div", "option-text");
        t.appendChild(el("span", "option-what", o.text || (humanize(o.remedy) + " " + (o.size || ""))));
        t.appendChild(el("code", "rule", o.rule));
        li.appendChild(t);
        var btn = el("button", "btn btn-small " + (pending ? "btn-secondary" : "btn-primary"), pending ? "Ask for approval" : "Use this");
        btn.type = "button";
        btn.setAttribute("data-remedy", o.remedy);
        btn.addEventListener("click", function () { use(o, pending, btn); });
        li.appendChild(btn);
        ul.appendChild(li);
      });
      container.appendChild(ul);
    }

    function renderSuggestion(s) {
      out.textContent = "";
      out.setAttribute("data-situation", s.situation || "");
      var head = el("div", "sugg-head");
      head.appendChild(el("span", "situation", s.situation ? humanize(s.situation) : "Not sure yet what this is about"));
      if (s.situation) head.appendChild(el("span", "confidence", Math.round((Number(s.confidence) || 0) * 100) + "% sure"));
      out.appendChild(head);
      out.appendChild(el("p", "muted small", "Your authority: " + humanize(s.tier)));
      (s.notes || []).forEach(function (n) { out.appendChild(el("p", "flash flash-info", n)); });
      if (s.situation) {
        var now = section("You can offer now", "in-authority");
        if (s.in_authority && s.in_authority.length) optionList(now, s.in_authority, false);
        else now.appendChild(el("p", "empty", "Nothing within your own authority for this case yet."));
        var groups = s.needs_approval || {};
        ["peer", "supervisor", "manager"].forEach(function (tier) {
          if ((groups[tier] || []).length) optionList(section(TIER_TITLES[tier], "needs-approval approval-" + tier), groups[tier], true);
        });
        if (s.next_question) section("Ask next", "missing").appendChild(el("p", "say", s.next_question));
      }
      var ph = s.phrasing || {};
      var say = section("Say it", "phrasing");
      ["listen", "apologize", "solve", "thank"].forEach(function (k) { if (ph[k]) say.appendChild(el("p", "say", ph[k])); });
    }

    function wording(option, pending) {
      var ph = (suggestion && suggestion.data.phrasing) || {};
      var what = option.text || humanize(option.remedy);
      if (pending) return "I've asked a colleague to approve " + what + ". I'll come back to you right here as soon as they have.";
      return (ph.apologize ? ph.apologize + " " : "") + "I can offer you " + what + ".";
    }

    function use(option, pending, button) {
      if (!suggestion || !suggestion.data.situation) return;
      var s = suggestion.data;
      var body = {
        conversation_id: id,
        situation: s.situation,
        remedy: option.remedy,
        size: option.size,
        transcript: suggestion.request.turns.slice(-50)
      };
      if (s.order_id) body.order_id = s.order_id;
      if (s.customer_id) body.customer_id = s.customer_id;
      if (s.conversation_facts && Object.keys(s.conversation_facts).length) body.facts = s.conversation_facts;
      button.disabled = true;
      logResult.textContent = "";
      call("POST", "/api/copilot/log", body).then(function (res) {
        button.disabled = false;
        if (!res.ok) {
          logResult.appendChild(el("p", "flash flash-error", "Not logged: " + (res.data.error || "HTTP " + res.status)));
          return;
        }
        var p = res.data;
        var box = el("p", "flash flash-success", p.status === "accepted" ? "Logged " : "Sent for approval (" + humanize(p.tier_required).toLowerCase() + "): ");
        var a = el("a", "pid", p.public_id);
        a.href = "/proposals/" + encodeURIComponent(p.public_id);
        box.appendChild(a);
        box.setAttribute("data-logged", p.public_id);
        logResult.appendChild(box);
        text.value = wording(option, p.status !== "accepted");
        text.focus();
        refresh();
      }).catch(function () {
        button.disabled = false;
        logResult.appendChild(el("p", "flash flash-error", "Not logged: the desk could not be reached."));
      });
    }

    // -- the buttons ------------------------------------------------------------------------------
    claimBtn.addEventListener("click", function () {
      claimBtn.disabled = true;
      call("POST", base + "/claim").then(function (res) {
        claimBtn.disabled = false;
        showError(res.ok ? "" : (res.data.error || "HTTP " + res.status));
        refresh();
      });
    });
    releaseBtn.addEventListener("click", function () {
      releaseBtn.disabled = true;
      call("POST", base + "/release").then(function (res) {
        releaseBtn.disabled = false;
        showError(res.ok ? "" : (res.data.error || "HTTP " + res.status));
        refresh();
      });
    });
    deliverBtn.addEventListener("click", function () {
      var said = text.value.trim();
      if (!said || !telling) return;
      deliverBtn.disabled = true;
      call("POST", base + "/deliveries", { proposal_id: telling.proposal_id, text: said }).then(function (res) {
        deliverBtn.disabled = false;
        if (!res.ok) { showError(res.data.error || "HTTP " + res.status); refresh(); return; }
        showError("");
        text.value = "";
        logResult.textContent = "";
        logResult.appendChild(el("p", "flash flash-success", "Told the customer about " + res.data.telling.proposal_id + "; marked delivered."));
        refresh();
      }).catch(function () { deliverBtn.disabled = false; showError("Not sent: the desk could not be reached."); });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var said = text.value.trim();
      if (!said) return;
      var send = document.getElementById("live-send");
      send.disabled = true;
      call("POST", base + "/messages", { text: said }).then(function (res) {
        send.disabled = false;
        if (!res.ok) { showError(res.data.error || "HTTP " + res.status); return; }
        showError("");
        text.value = "";
        refresh();
      }).catch(function () { send.disabled = false; showError("Not sent: the desk could not be reached."); });
    });

    every(CHAT_POLL_MS, refresh);
  }

  var inboxRoot = document.getElementById("live-inbox");
  if (inboxRoot) inbox(inboxRoot);
  var chatRoot = document.getElementById("live-conversation");
  if (chatRoot) conversation(chatRoot);
})();
