// The copilot panel: reads the live chat as the agent types, asks /api/copilot/suggest
// (debounced), and renders what the agent may offer. "Log this" records an option via
// /api/copilot/log. Everything is built with DOM calls and textContent: no HTML from data.
(function () {
  "use strict";

  var DEBOUNCE_MS = 400;
  var TIER_TITLES = {
    peer: "Needs a second agent (peer)",
    supervisor: "Needs a supervisor",
    manager: "Needs a manager"
  };

  var root = document.getElementById("copilot");
  if (!root) return;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var chat = document.getElementById("chat-text");
  var orderInput = document.getElementById("order-id");
  var customerInput = document.getElementById("customer-id");
  var out = document.getElementById("suggestions");
  var statusLine = document.getElementById("copilot-status");
  var logResult = document.getElementById("log-result");
  var newConversation = document.getElementById("new-conversation");

  var timer = null;
  var seq = 0;
  var controller = null;
  var last = null; // the last suggestion rendered, for "Log this"
  var conversationId = freshConversationId();

  function freshConversationId() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    var hex = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    return "desk-" + (root.getAttribute("data-agent") || "agent") + "-" + hex;
  }

  // "customer: ..." / "agent: ..." lines; unprefixed lines count as the customer.
  function parseTurns(text) {
    var turns = [];
    text.split(/\r?\n/).forEach(function (line) {
      var trimmed = line.trim();
      if (!trimmed) return;
      var m = /^(customer|client|agent|me|bot)\s*:\s*(.*)$/i.exec(trimmed);
      var speaker = "customer";
      var said = trimmed;
      if (m) {
        var who = m[1].toLowerCase();
        speaker = (who === "agent" || who === "me" || who === "bot") ? "agent" : "customer";
        said = m[2];
      }
      if (said) turns.push({ speaker: speaker, text: said });
    });
    return turns.slice(-200);
  }

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

  function post(path, body, signal) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify(body),
      signal: signal
    }).then(function (resp) {
      return resp.json().catch(function () { return { error: "unexpected answer (HTTP " + resp.status + ")" }; })
        .then(function (data) { return { ok: resp.ok, status: resp.status, data: data }; });
    });
  }

  function request() {
    var body = { turns: parseTurns(chat.value) };
    var order = orderInput.value.trim();
    var customer = customerInput.value.trim();
    if (order) body.order_id = order;
    if (customer) body.customer_id = customer;
    return body;
  }

  function schedule() {
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  }

  function refresh() {
    timer = null;
    var body = request();
    if (!body.turns.length) {
      out.textContent = "";
      last = null;
      statusLine.textContent = "Waiting for the chat…";
      return;
    }
    if (controller) controller.abort();
    controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    var mine = ++seq;
    statusLine.textContent = "Thinking…";
    root.setAttribute("aria-busy", "true");
    post("/api/copilot/suggest", body, controller ? controller.signal : undefined).then(function (res) {
      if (mine !== seq) return; // a newer request is on its way
      root.removeAttribute("aria-busy");
      if (!res.ok) {
        showError(res.status === 401 ? "Your session has ended: sign in again." : (res.data.error || "Something went wrong."));
        return;
      }
      last = { suggestion: res.data, request: body };
      render(res.data);
      statusLine.textContent = "Updated " + new Date().toLocaleTimeString();
    }).catch(function (err) {
      if (err && err.name === "AbortError") return;
      if (mine !== seq) return;
      root.removeAttribute("aria-busy");
      showError("The desk could not be reached. Check your connection.");
    });
  }

  function showError(message) {
    statusLine.textContent = "";
    out.textContent = "";
    out.appendChild(el("p", "flash flash-error", message));
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
      var text = el("div", "option-text");
      text.appendChild(el("span", "option-what", o.text || (humanize(o.remedy) + " " + (o.size || ""))));
      var rule = el("code", "rule", o.rule);
      rule.title = "cap: " + (o.cap_rule || "");
      text.appendChild(rule);
      li.appendChild(text);
      var btn = el("button", "btn btn-small " + (pending ? "btn-secondary" : "btn-primary"), "Log this");
      btn.type = "button";
      btn.setAttribute("data-remedy", o.remedy);
      btn.setAttribute("aria-label", (pending ? "Log and ask for approval: " : "Log: ") + (o.text || o.remedy));
      if (pending) btn.title = "Logs it as a request for approval";
      btn.addEventListener("click", function () { logOption(o, btn); });
      li.appendChild(btn);
      ul.appendChild(li);
    });
    container.appendChild(ul);
  }

  function render(s) {
    out.textContent = "";
    var head = el("div", "sugg-head");
    if (s.situation) {
      head.appendChild(el("span", "situation", humanize(s.situation)));
      var pct = Math.round((Number(s.confidence) || 0) * 100);
      head.appendChild(el("span", "confidence", pct + "% sure"));
    } else {
      head.appendChild(el("span", "situation muted", "Not sure yet what this is about"));
    }
    var who = el("p", "muted small", "Your authority: " + humanize(s.tier) +
                 (s.order_id ? " · order " + s.order_id : "") + (s.customer_id ? " · customer " + s.customer_id : ""));
    out.appendChild(head);
    out.appendChild(who);
    out.setAttribute("data-situation", s.situation || "");

    (s.notes || []).forEach(function (n) { out.appendChild(el("p", "flash flash-info", n)); });

    if (s.situation) {
      var now = section("You can offer now", "in-authority");
      if (s.in_authority && s.in_authority.length) {
        optionList(now, s.in_authority, false);
      } else {
        now.appendChild(el("p", "empty", "Nothing within your own authority for this case yet."));
      }

      var groups = s.needs_approval || {};
      var any = false;
      ["peer", "supervisor", "manager"].forEach(function (tier) {
        var list = groups[tier] || [];
        if (!list.length) return;
        any = true;
        var g = section(TIER_TITLES[tier], "needs-approval approval-" + tier);
        optionList(g, list, true);
      });
      if (!any && s.handoff) {
        var h = section("Pass it on", "handoff");
        h.appendChild(el("p", null, "Needs " + humanize(s.handoff.tier).toLowerCase() + ": " + s.handoff.reason));
      }

      if ((s.missing_facts && s.missing_facts.length) || s.next_question) {
        var m = section("Ask next", "missing");
        if (s.next_question) m.appendChild(el("p", "say", s.next_question));
        if (s.missing_facts && s.missing_facts.length) {
          var ul = el("ul", "plain facts-missing");
          s.missing_facts.forEach(function (f) { ul.appendChild(el("li", null, humanize(f))); });
          m.appendChild(el("p", "muted small", "Still missing:"));
          m.appendChild(ul);
        }
      }
    }

    var ph = s.phrasing || {};
    var say = section("Say it", "phrasing");
    var dl = el("dl", "last");
    [["listen", "Listen"], ["apologize", "Apologize"], ["solve", "Solve"], ["thank", "Thank"]].forEach(function (pair) {
      if (!ph[pair[0]]) return;
      dl.appendChild(el("dt", null, pair[1]));
      dl.appendChild(el("dd", "say", ph[pair[0]]));
    });
    say.appendChild(dl);

    if (s.blocked && s.blocked.length) {
      var d = el("details", "sugg blocked");
      d.appendChild(el("summary", null, "Not possible here (" + s.blocked.length + ")"));
      var bl = el("ul", "plain");
      s.blocked.forEach(function (b) {
        var li = el("li", null, humanize(b.remedy) + ": " + b.reason + " ");
        li.appendChild(el("code", "rule", b.rule));
        bl.appendChild(li);
      });
      d.appendChild(bl);
      out.appendChild(d);
    }
  }

  function logOption(option, button) {
    if (!last || !last.suggestion.situation) return;
    var s = last.suggestion;
    var body = {
      conversation_id: conversationId,
      situation: s.situation,
      remedy: option.remedy,
      size: option.size,
      transcript: last.request.turns.slice(-50)
    };
    if (s.order_id) body.order_id = s.order_id;
    if (s.customer_id) body.customer_id = s.customer_id;
    // What the customer said in the chat (e.g. the disputed fee): the server re-checks it.
    if (s.conversation_facts && Object.keys(s.conversation_facts).length) body.facts = s.conversation_facts;
    button.disabled = true;
    logResult.textContent = "";
    post("/api/copilot/log", body).then(function (res) {
      button.disabled = false;
      var box;
      if (!res.ok) {
        box = el("p", "flash flash-error", "Not logged: " + (res.data.error || "HTTP " + res.status));
      } else {
        var p = res.data;
        var words = p.status === "accepted"
          ? "Logged " : "Sent for approval (" + humanize(p.tier_required).toLowerCase() + "): ";
        box = el("p", "flash flash-success", words);
        var a = el("a", "pid", p.public_id);
        a.href = "/proposals/" + encodeURIComponent(p.public_id);
        box.appendChild(a);
        box.appendChild(document.createTextNode(p.status === "accepted"
          ? " — within your authority; go ahead and tell the customer."
          : " — you'll find it under “Waiting for others” in your queue."));
        box.setAttribute("data-logged", p.public_id);
      }
      logResult.appendChild(box);
    }).catch(function () {
      button.disabled = false;
      logResult.appendChild(el("p", "flash flash-error", "Not logged: the desk could not be reached."));
    });
  }

  chat.addEventListener("input", schedule);
  orderInput.addEventListener("input", schedule);
  customerInput.addEventListener("input", schedule);
  newConversation.addEventListener("click", function () {
    chat.value = "";
    orderInput.value = "";
    customerInput.value = "";
    logResult.textContent = "";
    conversationId = freshConversationId();
    refresh();
    chat.focus();
  });
  if (chat.value.trim()) schedule();
})();
