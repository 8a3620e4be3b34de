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

  function senderId() {
    var id = null;
    try { id = window.sessionStorage.getItem(KEY); } catch (e) { id = null; }
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      var bytes = new Uint8Array(9);
      window.crypto.getRandomValues(bytes);
      id = "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.sessionStorage.setItem(KEY, id); } catch (e) { /* private mode: one page only */ }
    }
    return id;
  }

  function add(who, text, buttons) {
    var li = document.createElement("li");
    li.className = "bubble bubble-" + who;
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = who === "me" ? "You said: " : "Makegood: ";
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

  function send(message, shown) {
    add("me", shown || message);
    status.textContent = "Makegood is typing…";
    fetch("/chat/send", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ sender: senderId(), message: message })
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        status.textContent = "";
        if (!resp.ok) {
          add("bot", data.error || "Sorry, something went wrong on our side. Please try again.");
          return;
        }
        var messages = data.messages || [];
        if (!messages.length) add("bot", "…");
        messages.forEach(function (m) { add("bot", m.text || "", m.buttons); });
      });
    }).catch(function () {
      status.textContent = "";
      add("bot", "Sorry, we can't reach our assistant right now. Please check your connection and try again.");
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
})();
