// "Attach a photo" in the customer web chat: posts the chosen picture to /chat/upload with the
// chat's sender id, then shows what was kept (the server's thumbnail) and the bot's answer.
// The server checks everything again (type from the bytes, size, metadata stripped); the size
// check here only spares the customer a long wait for a refusal.
(function () {
  "use strict";

  var MAX_BYTES = 10000000; // the server's limit (services/attachments.py MAX_BYTES)
  var form = document.getElementById("chat-attach");
  var input = document.getElementById("chat-photo");
  var log = document.getElementById("chat-log");
  var status = document.getElementById("chat-status");
  if (!form || !input || !log || !window.MakegoodChat) return;

  // chat.js owns the conversation's sender id: a photo sent before any message starts the
  // same conversation the messages will use.
  function senderId() {
    return window.MakegoodChat.senderId();
  }

  function bubble(who, text, imageUrl) {
    var li = document.createElement("li");
    li.className = "bubble bubble-" + who + (imageUrl ? " bubble-photo" : "");
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = who === "me" ? "You sent: " : "Makegood: ";
    li.appendChild(label);
    if (imageUrl) {
      var img = document.createElement("img");
      img.src = imageUrl;
      img.alt = "Your photo";
      li.appendChild(img);
    }
    if (text) {
      var span = document.createElement("span");
      span.textContent = text;
      li.appendChild(span);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  function megabytes(n) {
    // Rounded up to a tenth, as the server does: a size over the limit never reads as the limit.
    return (Math.ceil(n / 100000) / 10).toString();
  }

  function upload(file) {
    if (file.size === 0) {
      bubble("bot", "That file is empty. Please choose the picture again.");
      return;
    }
    if (file.size > MAX_BYTES) {
      bubble("bot", "That photo is " + megabytes(file.size) + " MB, more than the 10 MB we can take. Please send a smaller one.");
      return;
    }
    var data = new FormData();
    data.append("sender", senderId());
    data.append("photo", file, file.name || "photo");
    status.textContent = "Sending your photo…";
    input.disabled = true;
    fetch("/chat/upload", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: data
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        status.textContent = "";
        if (!resp.ok) {
          bubble("bot", body.error || "Sorry, we could not take that photo. Please try again.");
          return;
        }
        bubble("me", "", body.thumbnail);
        (body.messages || []).forEach(function (m) { bubble("bot", m.text || ""); });
      });
    }).catch(function () {
      status.textContent = "";
      bubble("bot", "Sorry, the photo did not reach us. Please check your connection and try again.");
    }).then(function () {
      input.disabled = false;
      input.value = "";
    });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); });
  input.addEventListener("change", function () {
    if (input.files && input.files[0]) upload(input.files[0]);
  });
})();
