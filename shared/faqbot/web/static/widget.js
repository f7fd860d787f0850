/* faqbot chat widget: plain JS, no dependencies. Served as /widget/<bot_id>.js with its config built in.
   Everything from the server or the visitor is put on the page with textContent: nothing is parsed as HTML. */
(function (CONFIG, CSS) {
  "use strict";
  var script = document.currentScript; // only set while this file runs: read it before waiting for the page
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }

  function start() {
    if (!window.fetch || !window.crypto || !document.body.attachShadow) { return; }
    var hostId = "faqbot-widget-" + CONFIG.botId;
    if (document.getElementById(hostId)) { return; }
    var api = CONFIG.api;
    // The API is wherever this script came from (a custom domain or a stage path included).
    if (script && script.src && /\/widget\/[^\/]+$/.test(script.src.split(/[?#]/)[0])) {
      api = script.src.split(/[?#]/)[0].replace(/\/widget\/[^\/]+$/, "");
    }
    var endpoint = api + "/bots/" + encodeURIComponent(CONFIG.botId) + "/web/messages";
    var keyPrefix = "faqbot." + CONFIG.botId + ".";

    // ---- storage: localStorage (survives reloads and navigation), memory when the browser refuses it
    var memory = {};
    function load(store, key) {
      try { return window[store].getItem(keyPrefix + key); } catch (e) { return memory[store + key] || null; }
    }
    function save(store, key, value) {
      try { window[store].setItem(keyPrefix + key, value); } catch (e) { memory[store + key] = value; }
    }

    // ---- language: the visitor's browser first, then what the server detected from their messages
    function pickLanguage() {
      var stored = load("localStorage", "lang");
      if (stored && CONFIG.texts[stored]) { return stored; }
      var wanted = navigator.languages || [navigator.language || ""];
      for (var i = 0; i < wanted.length; i++) {
        var code = String(wanted[i] || "").slice(0, 2).toLowerCase();
        if (CONFIG.texts[code]) { return code; }
      }
      return CONFIG.language;
    }
    var lang = pickLanguage();
    function t(key) { return (CONFIG.texts[lang] || CONFIG.texts[CONFIG.language])[key] || ""; }

    // ---- DOM (shadow root: the host page's styles do not reach in, ours do not leak out)
    function el(tag, attrs, text) {
      var node = document.createElement(tag);
      for (var name in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, name)) { node.setAttribute(name, attrs[name]); } }
      if (text !== undefined && text !== null) { node.textContent = text; }
      return node;
    }
    var host = el("div", { id: hostId });
    var shadow = host.attachShadow({ mode: "open" });
    var style = el("style", {}, CSS);
    var root = el("div", { "class": "root" });
    root.style.setProperty("--fq-accent", CONFIG.accent);
    var panelId = "faqbot-panel";
    var launcher = el("button", { "class": "launcher", type: "button", "aria-expanded": "false", "aria-controls": panelId });
    launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    var badge = el("span", { "class": "badge", hidden: "" });
    launcher.appendChild(badge);
    var panel = el("section", { "class": "panel", id: panelId, role: "dialog", "aria-modal": "false", "aria-labelledby": "faqbot-title", hidden: "" });
    var head = el("div", { "class": "head" });
    var title = el("h2", { id: "faqbot-title" });
    var closeButton = el("button", { "class": "close", type: "button" }, "\u00d7");
    head.appendChild(title);
    head.appendChild(closeButton);
    var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
    var status = el("div", { "class": "status", role: "status", "aria-live": "assertive" });
    var form = el("form", { novalidate: "" });
    var input = el("textarea", { id: "faqbot-input", rows: "1", maxlength: String(CONFIG.maxChars), autocomplete: "off" });
    var inputLabel = el("label", { "for": "faqbot-input", "class": "sr" });
    var send = el("button", { "class": "send", type: "submit" });
    form.appendChild(inputLabel);
    form.appendChild(input);
    form.appendChild(send);
    panel.appendChild(head);
    panel.appendChild(log);
    panel.appendChild(status);
    panel.appendChild(form);
    root.appendChild(launcher);
    root.appendChild(panel);
    shadow.appendChild(style);
    shadow.appendChild(root);

    function applyTexts() {
      launcher.setAttribute("aria-label", t("open"));
      closeButton.setAttribute("aria-label", t("close"));
      title.textContent = t("title");
      input.setAttribute("placeholder", t("placeholder"));
      inputLabel.textContent = t("label");
      send.textContent = t("send");
      badge.setAttribute("aria-label", t("unread"));
      if (greeting) { greeting.lastChild.textContent = t("greeting"); greeting.firstChild.textContent = t("bot"); }
    }

    // ---- messages
    var shown = {};
    var cursor = null;
    var greeting = null;
    var typing = null;
    var visitorId = load("localStorage", "visitor");

    function bubble(role, author, text) {
      var node = el("div", { "class": "msg " + role });
      node.appendChild(el("span", { "class": "who" }, author));
      node.appendChild(el("span", { "class": "text" }, text));
      return node;
    }
    function scrollDown() { log.scrollTop = log.scrollHeight; }
    function authorOf(message) {
      if (message.role === "visitor") { return t("you"); }
      if (message.role === "manager") { return message.author ? message.author : t("manager"); }
      return t("bot");
    }
    function render(message) {
      if (message.id && shown[message.id]) { return false; }
      if (message.id) { shown[message.id] = true; }
      var node = bubble(message.role, authorOf(message), message.text);
      if (message.choices && message.choices.length) {
        var list = el("div", { "class": "choices", role: "group" });
        message.choices.forEach(function (choice) {
          var button = el("button", { "class": "choice", type: "button" }, choice.number + ". " + choice.title);
          button.addEventListener("click", function () {
            list.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
            sendText(String(choice.number));
          });
          list.appendChild(button);
        });
        node.appendChild(list);
      }
      log.insertBefore(node, typing && typing.parentNode === log ? typing : null);
      return true;
    }
    function renderAll(messages) {
      var added = false;
      (messages || []).forEach(function (message) { if (render(message) && message.role !== "visitor") { added = true; } });
      if (added) { scrollDown(); }
      return added;
    }
    function showGreeting() {
      if (greeting) { return; }
      greeting = bubble("greeting", t("bot"), t("greeting"));
      log.insertBefore(greeting, log.firstChild);
    }
    function setTyping(on) {
      if (on && !typing) { typing = el("div", { "class": "typing", "aria-hidden": "true" }, t("typing")); log.appendChild(typing); scrollDown(); }
      if (!on && typing) { typing.remove(); typing = null; }
    }
    function advance(next) { if (next && (!cursor || next > cursor)) { cursor = next; } }
    function setStatus(text) { status.textContent = text || ""; }

    // ---- network
    function randomId() {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }
    function request(method, url, body) {
      var headers = {};
      if (visitorId) { headers["X-Faqbot-Visitor"] = visitorId; }
      if (body) { headers["Content-Type"] = "application/json"; }
      return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit", mode: "cors" })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (!response.ok) {
              var error = new Error(data.error || ("HTTP " + response.status));
              error.status = response.status;
              error.retryAfter = parseInt(response.headers.get("Retry-After") || "0", 10);
              throw error;
            }
            return data;
          });
        });
    }
    function explain(error) {
      if (error.status === 429) { return t("too_many").replace("{s}", String(error.retryAfter || 60)); }
      if (error.status === 413) { return t("too_long"); }
      if (error.status === 403 || error.status === 404) { return t("unavailable"); }
      return t("error");
    }

    var sending = false;
    function sendText(text) {
      text = String(text || "").trim();
      if (!text || sending) { return; }
      sending = true;
      send.disabled = true;
      setStatus("");
      var pending = bubble("visitor pending", t("you"), text);
      log.insertBefore(pending, null);
      setTyping(true);
      var body = { text: text, message_id: randomId(), after: cursor };
      var attempt = function (retries) {
        return request("POST", endpoint, body).catch(function (error) {
          if (!error.status && retries > 0) { return attempt(retries - 1); } // network blip: same message_id, answered once
          throw error;
        });
      };
      attempt(1).then(function (data) {
        pending.remove();
        setTyping(false);
        if (data.visitor_id && data.visitor_id !== visitorId) { visitorId = data.visitor_id; save("localStorage", "visitor", visitorId); }
        if (data.language && CONFIG.texts[data.language] && data.language !== lang) {
          lang = data.language; save("localStorage", "lang", lang); applyTexts();
        }
        renderAll(data.messages);
        advance(data.cursor);
        scrollDown();
        schedulePoll();
      }).catch(function (error) {
        pending.remove();
        setTyping(false);
        if (!input.value) { input.value = text; }
        setStatus(explain(error));
        if (error.status === 403 && window.console) { console.warn("faqbot: " + error.message); }
      }).then(function () {
        sending = false;
        send.disabled = false;
      });
    }

    var pollTimer = null;
    var polling = false;
    function poll() {
      pollTimer = null;
      if (!visitorId || polling || document.hidden) { schedulePoll(); return; }
      polling = true;
      var initial = !cursor; // the first poll loads the history: nothing new to flag
      var url = endpoint + (cursor ? "?after=" + encodeURIComponent(cursor) : "");
      request("GET", url).then(function (data) {
        var added = renderAll(data.messages);
        advance(data.cursor);
        if (added && panel.hidden && !initial) { badge.hidden = false; }
      }).catch(function () { /* the next poll tries again */ }).then(function () {
        polling = false;
        schedulePoll();
      });
    }
    function schedulePoll() {
      if (pollTimer || !visitorId) { return; }
      var seconds = panel.hidden ? CONFIG.pollSeconds * 5 : CONFIG.pollSeconds;
      pollTimer = setTimeout(poll, seconds * 1000);
    }
    function pollNow() {
      if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
      poll();
    }

    // ---- opening and closing
    function open(restoring) {
      panel.hidden = false;
      root.classList.add("open");
      badge.hidden = true;
      launcher.setAttribute("aria-expanded", "true");
      save("sessionStorage", "open", "1");
      showGreeting();
      scrollDown();
      if (!restoring) { input.focus(); } // a panel reopened by a page load does not steal the focus
      pollNow();
    }
    function close() {
      panel.hidden = true;
      root.classList.remove("open");
      launcher.setAttribute("aria-expanded", "false");
      save("sessionStorage", "open", "0");
      launcher.focus();
    }
    launcher.addEventListener("click", function () { if (panel.hidden) { open(false); } else { close(); } });
    closeButton.addEventListener("click", close);
    panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { event.preventDefault(); close(); } });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value;
      if (!text.trim() || sending) { return; }
      input.value = "";
      input.style.height = "";
      sendText(text);
    });
    input.addEventListener("input", function () { // grow with the text, up to the CSS max-height
      input.style.height = "";
      input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
      input.style.overflowY = input.scrollHeight > 118 ? "auto" : "hidden";
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { pollNow(); } });

    applyTexts();
    document.body.appendChild(host);
    if (load("sessionStorage", "open") === "1") { open(true); } else if (visitorId) { pollNow(); }
  }
})(__FAQBOT_CONFIG__, __FAQBOT_CSS__);
