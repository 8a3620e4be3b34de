// The customer web chat: posts each message to /chat/send (a proxy to Rasa's REST channel)
// and shows the replies. The sender id lives in sessionStorage so a reload keeps the thread.
(function () {
  "use strict";

  var KEY = "makegood-chat-sender";
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var status = document.getElementById("chat-status");
  if (!form) return;
  // Whose chat: the signed token the page was rendered with (docs/identity.md). Another
  // customer on this tab is another conversation: a conversation stays bound to its first.
  var token = form.getAttribute("data-customer-token") || "";
  var WHO = "makegood-chat-customer";
  try {
    var customer = form.getAttribute("data-customer") || "";
    if ((window.sessionStorage.getItem(WHO) || "") !== customer) {
      window.sessionStorage.removeItem(KEY);
      window.sessionStorage.setItem(WHO, customer);
    }
  } catch (e) { /* no storage: one page, one conversation */ }
  var rating = document.getElementById("chat-rating");
  var person = null; // "Alice" once a person from the desk answers this chat (pushed by /chat/events)
  var stream = null;
  var lastPushed = 0;

  var memo = null; // the id when sessionStorage is unavailable (private mode): one page, one id
  function senderId() {
    var id = null;
    try { id = window.sessionStorage.getItem(KEY); } catch (e) { id = memo; }
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      var bytes = new Uint8Array(9);
      window.crypto.getRandomValues(bytes);
      id = "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.sessionStorage.setItem(KEY, id); } catch (e) { /* private mode: kept in memo */ }
    }
    memo = id;
    return id;
  }
  // The photo control (chat-attach.js, loaded after this) posts into the same conversation.
  window.MakegoodChat = { senderId: senderId, token: function () { return token; } };

  function add(who, text, buttons, from) {
    var li = document.createElement("li");
    li.className = "bubble bubble-" + who + (from ? " bubble-agent" : "");
    var label = document.createElement("span");
    label.className = from ? "bubble-from" : "visually-hidden";
    label.textContent = from ? from + " from our team: " : (who === "me" ? "You said: " : "Makegood: ");
    li.appendChild(label);
    var p = document.createElement("span");
    p.textContent = text;
    li.appendChild(p);
    if (buttons && buttons.length) {
      var row = document.createElement("div");
      row.className = "quick-replies";
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "btn btn-small btn-secondary";
        btn.textContent = b.title;
        btn.addEventListener("click", function () { send(b.payload || b.title, b.title); });
        row.appendChild(btn);
      });
      li.appendChild(row);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  // Agent messages and who is answering, pushed by the desk (Server-Sent Events; EventSource
  // reconnects by itself and resumes after the last message id it saw).
  function listen() {
    if (!window.EventSource) return;
    if (stream && stream.readyState === window.EventSource.OPEN) return;
    if (stream) stream.close();
    stream = new window.EventSource("/chat/events?sender=" + encodeURIComponent(senderId()) + "&after=" + lastPushed);
    stream.addEventListener("state", function (event) {
      var state = JSON.parse(event.data);
      person = state.state === "claimed" ? state.agent_name : null;
      status.textContent = person ? person + " from our team is answering you." : "";
    });
    stream.addEventListener("message", function (event) {
      var m = JSON.parse(event.data);
      lastPushed = Number(event.lastEventId) || lastPushed;
      add("bot", m.text || "", null, m.kind === "agent" ? m.agent_name : null);
    });
  }

  function send(message, shown) {
    add("me", shown || message);
    status.textContent = person ? "" : "Makegood is typing…";
    fetch("/chat/send", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(token ? { sender: senderId(), message: message, customer_token: token }
                                 : { sender: senderId(), message: message })
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        status.textContent = person ? person + " from our team is answering you." : "";
        listen();
        if (!resp.ok) {
          add("bot", data.error || "Sorry, something went wrong on our side. Please try again.");
          return;
        }
        var messages = data.messages || [];
        if (!messages.length && !person) add("bot", "…");
        messages.forEach(function (m) { add("bot", m.text || "", m.buttons); });
        if (data.rate && rating) rating.hidden = false;
      });
    }).catch(function () {
      status.textContent = "";
      add("bot", "Sorry, we can't reach our assistant right now. Please check your connection and try again.");
    });
  }

  // Feedback as a second chance: a low rating goes to a person, who answers right here.
  if (rating) {
    rating.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = rating.querySelector("input[name=stars]:checked");
      if (!chosen) return;
      var body = { sender: senderId(), stars: Number(chosen.value), comment: rating.elements.comment.value };
      if (token) body.customer_token = token;
      fetch("/chat/rating", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          rating.hidden = true;
          add("bot", resp.ok ? data.message : (data.error || "Sorry, we could not save your rating."));
          listen();
        });
      }).catch(function () {
        add("bot", "Sorry, we could not save your rating: please check your connection.");
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
    input.focus();
  });
  try { if (window.sessionStorage.getItem(KEY)) listen(); } catch (e) { /* no storage: listen after the first send */ }
})();
