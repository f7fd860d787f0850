(function () {
  "use strict";
  var labels = JSON.parse(document.getElementById("labels").textContent);
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var channel = document.getElementById("channel");
  var sendButton = document.getElementById("send");
  var log = document.getElementById("log");
  var endpoint = window.location.pathname.replace(/\/+$/, "") + "/messages";
  var pending = null;
  var busy = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function bubble(role, text) {
    var row = el("div", "msg " + role);
    var box = el("div", "bubble");
    box.appendChild(el("p", "text", text));
    row.appendChild(box);
    return row;
  }

  function label(key, fallback) {
    return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : fallback;
  }

  function why(data) {
    var box = el("div", "why");
    box.setAttribute("data-decision", data.decision);
    var decision = el("p");
    decision.appendChild(document.createTextNode(labels.decision + ": "));
    decision.appendChild(el("span", "decision", label("decision." + data.decision, data.decision)));
    if (data.picked) { decision.appendChild(document.createTextNode(" (" + labels.picked + ")")); }
    box.appendChild(decision);
    if (data.kb_version !== null) { box.appendChild(el("p", "kb-version", labels.kb_version + ": " + data.kb_version)); }
    box.appendChild(el("p", null, labels.candidates + ":"));
    if (data.candidates.length) {
      var list = el("ol", "candidates");
      data.candidates.forEach(function (c) {
        var where = c.row !== null ? " (" + labels.row + " " + c.row + ")" : "";
        var item = el("li", null, c.question + where + " — " + labels.score + " " + c.score.toFixed(2));
        item.setAttribute("data-entry-id", c.id);
        list.appendChild(item);
      });
      box.appendChild(list);
    } else {
      box.appendChild(el("p", null, labels.no_candidates));
    }
    var t = data.thresholds;
    box.appendChild(el("p", null, labels.thresholds.replace("{answer}", t.answer_min_score).replace("{clarify}", t.clarify_min_score)));
    if (data.handoff) {
      box.appendChild(el("p", "note handoff-note", labels.handoff_note));
      box.appendChild(el("p", "note", labels.paused_note));
    }
    if (!data.bot_enabled) { box.appendChild(el("p", "note", labels.disabled_note)); }
    if (data.degraded) { box.appendChild(el("p", "note", labels.degraded)); }
    return box;
  }

  function choices(data) {
    var group = el("div", "chips");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", labels.choose);
    var chips = data.reply.chips;
    data.reply.options.forEach(function (option, index) {
      var caption = chips.length ? chips[index] : option.number + ". " + option.title;
      var chip = el("button", "chip", caption);
      chip.type = "button";
      chip.setAttribute("data-entry-id", option.entry_id);
      chip.addEventListener("click", function () {
        if (busy) { return; }
        group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        send(option.send);
      });
      group.appendChild(chip);
    });
    return group;
  }

  function show(turn, data) {
    if (data.reply.messages.length) {
      data.reply.messages.forEach(function (text) { turn.appendChild(bubble("bot", text)); });
    } else {
      var silent = el("div", "event");
      silent.appendChild(el("span", null, labels.silent));
      turn.appendChild(silent);
    }
    if (data.reply.options.length) { turn.appendChild(choices(data)); }
    turn.appendChild(why(data));
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    log.setAttribute("aria-busy", value ? "true" : "false");
  }

  function send(text) {
    if (busy || !text.trim()) { return; }
    var turn = el("div", "turn");
    turn.appendChild(bubble("customer", text));
    log.appendChild(turn);
    var body = { text: text, channel: channel.value };
    if (pending) { body.pending = pending; }
    setBusy(true);
    fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      pending = data.pending;
      show(turn, data);
    }).catch(function () {
      turn.appendChild(el("p", "note error", labels.error));
    }).then(function () {
      setBusy(false);
      turn.scrollIntoView({ block: "end" });
      var chip = turn.querySelector(".chip:not([disabled])");
      (chip || input).focus();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim() || busy) { return; }
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
