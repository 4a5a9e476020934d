/*
 * Loopdesk chat widget. Vanilla JavaScript, no external assets, no cookies.
 *
 *   <script src="https://support.example.com/chat/widget.js" defer
 *           data-title="Chat with us" data-lang="zh_CN|en" data-color="#0b5fff"
 *           data-server="https://support.example.com"></script>
 *
 * The widget lives in a Shadow DOM so the host page's CSS cannot reach inside. Its own UI
 * strings are below in both languages (it runs on customers' sites, outside the server's
 * gettext catalogs); notices that come from the API are translated by the server.
 * User text is only ever inserted with textContent.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__loopdeskChatLoaded) {
    return;
  }
  window.__loopdeskChatLoaded = true;

  var STRINGS = {
    en: {
      title: "Chat with us",
      close: "Close chat",
      intro: "Leave your name and email and tell us what you need. An agent will answer here.",
      name: "Your name",
      email: "Email",
      message: "How can we help?",
      start: "Start chat",
      reply: "Your message",
      send: "Send",
      sending: "Sending…",
      you: "You",
      agent: "Agent",
      end: "End chat",
      again: "Start a new chat",
      invalid: "Please check the highlighted fields.",
      failed: "Your message was not sent. Check your connection and try again.",
      limited: "Too many messages in a short time. Please wait a moment and try again.",
      ended: "This chat has ended.",
      blocked: "Chat is not available on this website.",
      transcript: "Conversation",
      unread: "new messages"
    },
    zh: {
      title: "在线咨询",
      close: "关闭在线咨询",
      intro: "请留下您的姓名和邮箱，并告诉我们需要什么帮助，客服会在这里回复您。",
      name: "您的姓名",
      email: "电子邮箱",
      message: "请描述您的问题",
      start: "开始咨询",
      reply: "您的消息",
      send: "发送",
      sending: "发送中…",
      you: "您",
      agent: "客服",
      end: "结束会话",
      again: "开始新的会话",
      invalid: "请检查标出的内容。",
      failed: "消息未能发送，请检查网络连接后重试。",
      limited: "发送过于频繁，请稍候再试。",
      ended: "本次会话已结束。",
      blocked: "本网站暂不支持在线咨询。",
      transcript: "会话记录",
      unread: "条新消息"
    }
  };

  var data = script.dataset;
  var lang = pickLanguage(data.lang);
  var t = STRINGS[lang];
  var title = (data.title || "").trim() || t.title;
  var server = (data.server || originOf(script.src) || "").replace(/\/+$/, "");
  var storageKey = "loopdesk-chat:" + server;
  var color = data.color && window.CSS && CSS.supports("color", data.color) ? data.color : "";

  var state = load();          // {id, token, lastId} of the current chat, or null
  var seen = new Set();        // message ids already shown
  var pollTimer = null;
  var polling = false;
  var failures = 0;
  var unread = 0;
  var catchingUp = Boolean(state);  // a reload re-shows the transcript: nothing is new
  var interval = 3000;

  var ui = build();
  if (document.body) {
    document.body.appendChild(ui.host);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      document.body.appendChild(ui.host);
    });
  }
  if (state) {
    showChat();
    startPolling(0);
  }

  // ---- language and storage ----

  function pickLanguage(value) {
    var tag = (value || navigator.language || "en").toLowerCase();
    return tag.indexOf("zh") === 0 ? "zh" : "en";
  }

  function originOf(url) {
    try {
      return new URL(url, document.baseURI).origin;
    } catch (error) {
      return "";
    }
  }

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(storageKey) || "null");
      if (saved && typeof saved.id === "number" && typeof saved.token === "string") {
        saved.lastId = 0;  // a reload shows the whole transcript again
        return saved;
      }
    } catch (error) { /* storage blocked or corrupt: start afresh */ }
    return null;
  }

  function save() {
    try {
      if (state) {
        window.sessionStorage.setItem(storageKey, JSON.stringify(
          {id: state.id, token: state.token}));
      } else {
        window.sessionStorage.removeItem(storageKey);
      }
    } catch (error) { /* the chat still works for this page view */ }
  }

  // ---- the DOM ----

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function field(id, label, control) {
    var wrap = el("div", {"class": "field"});
    wrap.appendChild(el("label", {"for": id}, label));
    wrap.appendChild(control);
    return wrap;
  }

  function build() {
    var host = el("div", {"data-loopdesk-chat": ""});
    // Inline !important beats the host page's rules for the one element it can reach.
    host.style.cssText = "all: initial !important; position: fixed !important; " +
      "right: 16px !important; bottom: 16px !important; z-index: 2147483000 !important; " +
      "display: block !important;";
    var root = host.attachShadow({mode: "open"});
    var style = el("style", {}, cssText());
    root.appendChild(style);
    var box = el("div", {"class": "box", lang: lang === "zh" ? "zh-CN" : "en"});
    if (color) {
      box.style.setProperty("--ld-color", color);
    }
    root.appendChild(box);

    var launcher = el("button", {type: "button", "class": "launcher", "aria-expanded": "false",
                                 "aria-controls": "ld-panel"}, title);
    var badge = el("span", {"class": "badge", hidden: ""});
    launcher.appendChild(badge);
    var panel = el("section", {id: "ld-panel", "class": "panel", role: "dialog",
                               "aria-labelledby": "ld-title", hidden: ""});
    var header = el("header", {});
    header.appendChild(el("h2", {id: "ld-title"}, title));
    var close = el("button", {type: "button", "class": "close", "aria-label": t.close}, "×");
    header.appendChild(close);
    panel.appendChild(header);

    var log = el("div", {"class": "log", role: "log", "aria-live": "polite",
                         "aria-label": t.transcript, tabindex: "0"});
    panel.appendChild(log);
    var notice = el("p", {"class": "notice", role: "status", hidden: ""});
    panel.appendChild(notice);
    var error = el("p", {"class": "error", role: "alert", hidden: ""});
    panel.appendChild(error);

    var startForm = el("form", {"class": "start", novalidate: ""});
    startForm.appendChild(el("p", {"class": "intro"}, t.intro));
    var name = el("input", {id: "ld-name", name: "name", autocomplete: "name", required: "",
                            maxlength: "120"});
    var email = el("input", {id: "ld-email", name: "email", type: "email", required: "",
                             autocomplete: "email", maxlength: "254"});
    var message = el("textarea", {id: "ld-message", name: "message", required: "",
                                  maxlength: "5000", rows: "3"});
    startForm.appendChild(field("ld-name", t.name, name));
    startForm.appendChild(field("ld-email", t.email, email));
    startForm.appendChild(field("ld-message", t.message, message));
    var startButton = el("button", {type: "submit", "class": "primary"}, t.start);
    startForm.appendChild(startButton);
    panel.appendChild(startForm);

    var compose = el("form", {"class": "compose", hidden: ""});
    var reply = el("textarea", {id: "ld-reply", name: "body", required: "", maxlength: "5000",
                                rows: "2"});
    var replyLabel = el("label", {"for": "ld-reply", "class": "visually-hidden"}, t.reply);
    var sendButton = el("button", {type: "submit", "class": "primary"}, t.send);
    compose.appendChild(replyLabel);
    compose.appendChild(reply);
    compose.appendChild(sendButton);
    panel.appendChild(compose);

    var footer = el("footer", {hidden: ""});
    var endButton = el("button", {type: "button", "class": "link"}, t.end);
    var againButton = el("button", {type: "button", "class": "link", hidden: ""}, t.again);
    footer.appendChild(endButton);
    footer.appendChild(againButton);
    panel.appendChild(footer);

    box.appendChild(panel);
    box.appendChild(launcher);

    launcher.addEventListener("click", function () {
      setOpen(panel.hidden);
    });
    close.addEventListener("click", function () {
      setOpen(false);
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        setOpen(false);
      }
    });
    startForm.addEventListener("submit", onStart);
    compose.addEventListener("submit", onSend);
    reply.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        compose.requestSubmit(sendButton);
      }
    });
    endButton.addEventListener("click", onEnd);
    againButton.addEventListener("click", function () {
      reset();
      name.focus();
    });

    return {host: host, launcher: launcher, badge: badge, panel: panel, log: log, notice: notice,
            error: error, startForm: startForm, name: name, email: email, message: message,
            startButton: startButton, compose: compose, reply: reply, sendButton: sendButton,
            footer: footer, endButton: endButton, againButton: againButton};
  }

  function setOpen(open) {
    ui.panel.hidden = !open;
    if (open) {
      setUnread(0);
    }
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = state ? ui.reply : ui.name;
      if (!first.disabled && !first.closest("[hidden]")) {
        first.focus();
      }
    } else {
      ui.launcher.focus();
    }
  }

  function showChat() {
    ui.startForm.hidden = true;
    ui.compose.hidden = false;
    ui.footer.hidden = false;
    ui.endButton.hidden = false;
    ui.againButton.hidden = true;
    ui.reply.disabled = false;
    ui.sendButton.disabled = false;
  }

  function finish(text) {
    stopPolling();
    ui.compose.hidden = true;
    ui.endButton.hidden = true;
    ui.againButton.hidden = false;
    ui.footer.hidden = false;
    if (text) {
      showNotice(text);
    }
  }

  function reset() {
    stopPolling();
    state = null;
    save();
    seen.clear();
    ui.log.textContent = "";
    showNotice("");
    showError("");
    ui.message.value = "";
    ui.startForm.hidden = false;
    ui.startButton.disabled = false;
    ui.compose.hidden = true;
    ui.footer.hidden = true;
  }

  function setUnread(count) {
    unread = count;
    ui.badge.textContent = "";
    ui.badge.hidden = !count;
    if (count) {
      // Part of the launcher's name, so screen readers hear "Chat with us 2 new messages".
      ui.badge.appendChild(el("span", {"aria-hidden": "true"}, String(count)));
      ui.badge.appendChild(el("span", {"class": "visually-hidden"}, " " + count + " " +
                              t.unread));
    }
  }

  function showNotice(text) {
    ui.notice.textContent = text || "";
    ui.notice.hidden = !text;
  }

  function showError(text) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
  }

  function render(items) {
    (items || []).forEach(function (item) {
      if (typeof item.id !== "number" || seen.has(item.id)) {
        return;
      }
      seen.add(item.id);
      if (state && item.id > state.lastId) {
        state.lastId = item.id;
      }
      var kind = item.author === "visitor" || item.author === "agent" ? item.author : "system";
      var row = el("div", {"class": "msg " + kind});
      var who = kind === "visitor" ? t.you : (item.name || (kind === "agent" ? t.agent : ""));
      if (who) {
        row.appendChild(el("span", {"class": "who"}, who));
      }
      row.appendChild(el("p", {"class": "body"}, String(item.body || "")));
      ui.log.appendChild(row);
      if (kind !== "visitor" && ui.panel.hidden && !catchingUp) {
        setUnread(unread + 1);
      }
    });
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // ---- talking to the server ----

  function request(method, path, body, extraHeaders) {
    var headers = {"Accept": "application/json"};
    if (state && state.token) {
      headers["Authorization"] = "Bearer " + state.token;
    }
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    Object.keys(extraHeaders || {}).forEach(function (name) {
      headers[name] = extraHeaders[name];
    });
    return fetch(server + "/api/v1" + path, {
      method: method, headers: headers, mode: "cors", credentials: "omit",
      cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch (error) { /* not JSON: status alone decides */ }
        return {status: response.status, data: json || {}};
      });
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function pageUrl() {
    if (!/^https?:$/.test(location.protocol)) {
      return undefined;
    }
    var url = location.origin + location.pathname;  // no query or fragment: they may hold secrets
    return url.length <= 500 ? url : undefined;
  }

  function markInvalid(errors) {
    [["name", ui.name], ["email", ui.email], ["message", ui.message]].forEach(function (pair) {
      if (errors && errors[pair[0]]) {
        pair[1].setAttribute("aria-invalid", "true");
      } else {
        pair[1].removeAttribute("aria-invalid");
      }
    });
  }

  function clientErrors() {
    var errors = {};
    if (!ui.name.value.trim()) {
      errors.name = true;
    }
    if (!ui.email.value.trim() || !ui.email.checkValidity()) {
      errors.email = true;
    }
    if (!ui.message.value.trim()) {
      errors.message = true;
    }
    return errors;
  }

  async function onStart(event) {
    event.preventDefault();
    showError("");
    var errors = clientErrors();
    markInvalid(errors);
    if (Object.keys(errors).length) {
      showError(t.invalid);
      ui[Object.keys(errors)[0]].focus();
      return;
    }
    ui.startButton.disabled = true;
    var body = {name: ui.name.value.trim(), email: ui.email.value.trim(),
                message: ui.message.value.trim(), language: lang};
    var url = pageUrl();
    if (url) {
      body.page_url = url;
    }
    var result;
    try {
      result = await request("POST", "/chat/sessions", body);
    } catch (error) {
      ui.startButton.disabled = false;
      showError(t.failed);
      return;
    }
    if (result.status === 201) {
      state = {id: result.data.id, token: result.data.token, lastId: 0};
      save();
      interval = Math.max(1, result.data.poll_interval_seconds || 3) * 1000;
      showChat();
      render(result.data.messages);
      showNotice(result.data.notice);
      ui.reply.focus();
      startPolling(interval);
      return;
    }
    ui.startButton.disabled = false;
    if (result.status === 400) {
      markInvalid(result.data.errors || {});
      showError(t.invalid);
    } else {
      showError(result.status === 429 ? t.limited : result.status === 403 ? t.blocked
        : t.failed);
    }
  }

  async function onSend(event) {
    event.preventDefault();
    var text = ui.reply.value.trim();
    if (!text || !state) {
      return;
    }
    showError("");
    ui.reply.disabled = true;
    ui.sendButton.disabled = true;
    ui.sendButton.textContent = t.sending;
    // One id for every attempt: a retry after a lost answer is stored once.
    var clientId = newClientId();
    var result = null;
    for (var attempt = 0; attempt < 3 && result === null; attempt += 1) {
      try {
        result = await request("POST", "/chat/sessions/" + state.id + "/messages",
                               {body: text, client_id: clientId});
      } catch (error) {
        await sleep(1000 * Math.pow(2, attempt));
      }
    }
    ui.sendButton.textContent = t.send;
    ui.reply.disabled = false;
    ui.sendButton.disabled = false;
    if (result && (result.status === 201 || result.status === 200)) {
      ui.reply.value = "";
      render([result.data]);
      ui.reply.focus();
      return;
    }
    if (result && result.status === 404) {
      sessionGone();
    } else if (result && result.status === 409) {
      finish(t.ended);
    } else {
      showError(result && result.status === 429 ? t.limited : t.failed);
    }
  }

  async function onEnd() {
    if (state) {
      try {
        await request("DELETE", "/chat/sessions/" + state.id);
      } catch (error) { /* the session expires by itself */ }
    }
    reset();
    ui.name.focus();
  }

  function sessionGone() {
    reset();
    showNotice(t.ended);
  }

  // ---- polling: every few seconds while visible, slower when hidden, stop at the end ----

  function startPolling(delay) {
    polling = true;
    schedule(delay);
  }

  function stopPolling() {
    polling = false;
    clearTimeout(pollTimer);
  }

  function schedule(delay) {
    clearTimeout(pollTimer);
    if (polling) {
      pollTimer = setTimeout(pollOnce, delay);
    }
  }

  async function pollOnce() {
    if (!state || !polling) {
      return;
    }
    var delay = interval;
    try {
      var result = await request("GET", "/chat/sessions/" + state.id + "/messages?after=" +
                                 state.lastId);
      if (!polling) {
        return;
      }
      if (result.status === 200) {
        failures = 0;
        render(result.data.items);
        catchingUp = false;
        if (result.data.handed_off || result.data.closed) {
          finish(result.data.notice || t.ended);
          return;
        }
        if ((result.data.items || []).length >= 200) {
          delay = 0;  // a long transcript: fetch the rest at once
        }
      } else if (result.status === 404 || result.status === 401) {
        sessionGone();
        return;
      } else if (result.status === 429) {
        delay = 30000;
      } else {
        failures += 1;
      }
    } catch (error) {
      failures += 1;
    }
    if (failures) {
      delay = Math.min(60000, interval * Math.pow(2, failures));
    }
    if (document.hidden) {
      delay = Math.max(delay, 15000);
    }
    schedule(delay);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && polling) {
      schedule(0);
    }
  });

  // ---- styles (inside the shadow root: the page cannot override them) ----

  function cssText() {
    return [
      ".box { --ld-color: #0b5fff; all: initial; display: flex; flex-direction: column;",
      "  align-items: flex-end; gap: 10px; color: #1d2330;",
      "  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', 'PingFang SC',",
      "  'Microsoft YaHei', sans-serif; }",
      ".box * { box-sizing: border-box; font: inherit; color: inherit; }",
      "[hidden] { display: none !important; }",
      "button { cursor: pointer; border: 0; border-radius: 6px; padding: 8px 14px;",
      "  background: #eef1f6; }",
      "button:focus-visible, input:focus-visible, textarea:focus-visible,",
      ".log:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }",
      "button:disabled { opacity: .6; cursor: default; }",
      ".launcher, .primary { background: var(--ld-color); color: #fff; font-weight: 600; }",
      ".badge { display: inline-block; min-width: 20px; margin-left: 8px; padding: 0 6px;",
      "  border-radius: 999px; background: #fff; color: var(--ld-color); font-size: 12px; }",
      ".launcher { border-radius: 999px; padding: 12px 20px;",
      "  box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
      ".panel { width: 340px; max-width: calc(100vw - 32px); height: 480px;",
      "  max-height: calc(100vh - 100px); display: flex; flex-direction: column;",
      "  background: #fff; border-radius: 12px; overflow: hidden;",
      "  box-shadow: 0 8px 30px rgba(0,0,0,.25); }",
      "header { display: flex; align-items: center; justify-content: space-between;",
      "  padding: 10px 14px; background: var(--ld-color); color: #fff; }",
      "h2 { margin: 0; font-size: 16px; font-weight: 600; color: #fff; }",
      ".close { background: transparent; color: #fff; font-size: 20px; padding: 2px 8px; }",
      ".log { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex;",
      "  flex-direction: column; gap: 8px; }",
      ".msg { max-width: 85%; padding: 8px 10px; border-radius: 10px; background: #eef1f6; }",
      ".msg.visitor { align-self: flex-end; background: #dde8ff; }",
      ".msg.system { align-self: center; background: transparent; color: #5a6275; }",
      ".who { display: block; font-size: 12px; font-weight: 600; color: #5a6275; }",
      ".body { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }",
      ".notice { margin: 0; padding: 8px 14px; background: #fff7e0; color: #5c4400; }",
      ".error { margin: 0; padding: 8px 14px; background: #fdecec; color: #8a1c1c; }",
      "form { padding: 10px 14px; border-top: 1px solid #e3e6ec; }",
      ".start { display: flex; flex-direction: column; gap: 8px; overflow-y: auto; }",
      ".intro { margin: 0; color: #5a6275; }",
      ".field { display: flex; flex-direction: column; gap: 2px; }",
      "label { font-weight: 600; font-size: 13px; }",
      "input, textarea { width: 100%; padding: 7px 9px; border: 1px solid #b8bfcc;",
      "  border-radius: 6px; background: #fff; resize: vertical; }",
      "[aria-invalid=true] { border-color: #c62828; }",
      ".compose { display: flex; gap: 8px; align-items: flex-end; }",
      ".compose textarea { flex: 1; }",
      "footer { display: flex; justify-content: flex-end; padding: 4px 14px 10px; }",
      ".link { background: transparent; color: #5a6275; text-decoration: underline;",
      "  padding: 4px; }",
      ".visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;",
      "  clip: rect(0 0 0 0); white-space: nowrap; }"
    ].join("\n");
  }
}());
