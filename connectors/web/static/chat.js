/*
 * Parents' SEND chat page — client for Rasa 3.6's socket.io channel.
 *
 * Plain script, no build step. Runs under a strict Content-Security-Policy
 * (no eval, no inline handlers, no inline styles).
 *
 * Safety rule: every piece of text that comes from the user, the bot, the
 * config or sessionStorage is put into the page with textContent /
 * createTextNode only. Nothing here uses innerHTML, outerHTML or
 * insertAdjacentHTML.
 */
(function () {
  "use strict";

  var HISTORY_KEY = "sendbot.history";
  var SESSION_KEY = "sendbot.session_id"; // the server's signed conversation id
  var PENDING_KEY = "sendbot.pending"; // sent, not yet acknowledged: sent again after a reconnect
  var MAX_PENDING = 20;
  var MAX_HISTORY = 200; // messages kept for a reload; oldest dropped first
  var TYPING_TIMEOUT_MS = 20000;
  var CONFIG_TIMEOUT_MS = 10000;
  var DEFAULT_MAX_CHARS = 1000;
  var DEFAULT_SOCKET_PATH = "/socket.io/";

  var TEXT = {
    connecting: "Connecting…",
    connected: "Connected",
    lost: "Connection lost, trying again…",
    noLibrary: "The chat could not start. Please refresh the page, or contact the school office.",
    empty: "Please type a question first.",
    notConnected: "The assistant is not connected at the moment. Your message is still in the box. Please send it again when the status says Connected.",
    typing: "The assistant is typing…",
    newConversation: "A new conversation has started. The earlier messages have been cleared.",
    notContinued: "The earlier conversation could not be continued, so a new one has started. The earlier messages have been cleared.",
    notHandled: "Sorry, the assistant could not answer that just now. Please send it again.",
    restored: "Your earlier messages from this visit have been restored.",
    youSaid: "You said: ",
    botSaid: "Assistant said: ",
    suggested: "Suggested replies: "
  };

  function tooLongText(max) {
    return "Long messages are cut to " + max + " characters.";
  }

  // ---------------------------------------------------------------------
  // Elements
  // ---------------------------------------------------------------------

  var el = {
    log: document.getElementById("chat-log"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("message-input"),
    send: document.getElementById("send-button"),
    counter: document.getElementById("char-count"),
    connection: document.getElementById("connection-status"),
    notice: document.getElementById("input-status"),
    typing: document.getElementById("typing"),
    newConversation: document.getElementById("new-conversation"),
    schoolName: document.getElementById("school-name"),
    privacyLink: document.getElementById("privacy-link"),
    privacyMissing: document.getElementById("privacy-link-missing")
  };

  var state = {
    config: {
      socketUrl: window.location.origin,
      socketPath: DEFAULT_SOCKET_PATH,
      maxMessageChars: DEFAULT_MAX_CHARS
    },
    socket: null,
    sessionId: null,
    requestedId: null, // the id this connection asked to continue
    pending: [], // [{id, message, shown, parts: [reply parts already shown]}]
    ready: false, // connected AND session confirmed
    everConnected: false,
    history: [],
    typingTimer: null,
    noticeKind: "" // "", "empty", "long", "offline", "info"
  };

  var reducedMotion = window.matchMedia
    ? window.matchMedia("(prefers-reduced-motion: reduce)")
    : { matches: false };

  // ---------------------------------------------------------------------
  // sessionStorage (may be unavailable, e.g. storage blocked or full)
  // ---------------------------------------------------------------------

  function storageGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      window.sessionStorage.setItem(key, value);
      return true;
    } catch (e) {
      return false;
    }
  }

  function storageRemove(key) {
    try {
      window.sessionStorage.removeItem(key);
    } catch (e) {
      /* nothing to do */
    }
  }

  function cleanSessionId(value) {
    if (value && typeof value === "object" && "session_id" in value) {
      value = value.session_id;
    }
    if (typeof value === "number") {
      value = String(value);
    }
    if (typeof value !== "string") {
      return null;
    }
    value = value.trim();
    if (!value || value.length > 200) {
      return null;
    }
    return value;
  }

  function toText(value) {
    if (typeof value === "string") {
      return value;
    }
    if (typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    return "";
  }

  // Accepts Rasa's quick_replies ({content_type, title, payload}) and
  // buttons ({title, payload}); returns [{title, payload}] with strings only.
  function normaliseButtons(list) {
    var out = [];
    if (!Array.isArray(list)) {
      return out;
    }
    for (var i = 0; i < list.length; i++) {
      var b = list[i];
      if (!b || typeof b !== "object") {
        continue;
      }
      var title = toText(b.title).trim();
      var payload = toText(b.payload);
      if (!title) {
        continue;
      }
      if (!payload.trim()) {
        payload = title;
      }
      out.push({ title: title, payload: payload });
    }
    return out;
  }

  function cleanEntry(item) {
    if (!item || typeof item !== "object") {
      return null;
    }
    var who = item.who === "user" ? "user" : item.who === "bot" ? "bot" : null;
    if (!who) {
      return null;
    }
    var text = toText(item.text);
    var buttons = who === "bot" ? normaliseButtons(item.buttons) : [];
    if (!text.trim() && !buttons.length) {
      return null;
    }
    return { who: who, text: text, buttons: buttons };
  }

  function loadHistory() {
    var raw = storageGet(HISTORY_KEY);
    if (!raw) {
      return [];
    }
    var parsed;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      return [];
    }
    if (!Array.isArray(parsed)) {
      return [];
    }
    var out = [];
    for (var i = 0; i < parsed.length; i++) {
      var entry = cleanEntry(parsed[i]);
      if (entry) {
        out.push(entry);
      }
    }
    return out.slice(-MAX_HISTORY);
  }

  function saveHistory() {
    if (state.history.length > MAX_HISTORY) {
      state.history = state.history.slice(-MAX_HISTORY);
    }
    var items = state.history;
    // If storage is full, keep dropping the oldest half until it fits.
    while (!storageSet(HISTORY_KEY, JSON.stringify(items))) {
      if (items.length <= 1) {
        storageRemove(HISTORY_KEY);
        return;
      }
      items = items.slice(Math.floor(items.length / 2));
    }
  }

  // Each message has its own id, made once and kept if it is sent again, so the
  // server answers it once however often it arrives (connectors/rasa/exactly_once.py).
  function newMessageId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      return "page-" + c.randomUUID();
    }
    if (c && typeof c.getRandomValues === "function") {
      var bytes = c.getRandomValues(new Uint8Array(16));
      return "page-" + Array.prototype.map.call(bytes, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      }).join("");
    }
    return "page-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function loadPending() {
    var parsed;
    try {
      parsed = JSON.parse(storageGet(PENDING_KEY) || "[]");
    } catch (e) {
      return [];
    }
    if (!Array.isArray(parsed)) {
      return [];
    }
    var out = [];
    for (var i = 0; i < parsed.length; i++) {
      var p = parsed[i];
      if (!p || typeof p.id !== "string" || !/^page-[\w-]{1,80}$/.test(p.id) || typeof p.message !== "string") {
        continue;
      }
      var parts = Array.isArray(p.parts) ? p.parts.filter(function (n) { return typeof n === "number"; }) : [];
      out.push({ id: p.id, message: p.message, parts: parts });
    }
    return out.slice(-MAX_PENDING);
  }

  function savePending() {
    state.pending = state.pending.slice(-MAX_PENDING);
    if (!state.pending.length) {
      storageRemove(PENDING_KEY);
    } else {
      storageSet(PENDING_KEY, JSON.stringify(state.pending));
    }
  }

  function findPending(id) {
    for (var i = 0; i < state.pending.length; i++) {
      if (state.pending[i].id === id) {
        return state.pending[i];
      }
    }
    return null;
  }

  function forgetPending(id) {
    state.pending = state.pending.filter(function (p) {
      return p.id !== id;
    });
    savePending();
  }

  // ---------------------------------------------------------------------
  // Rendering (text only, never HTML)
  // ---------------------------------------------------------------------

  var URL_PATTERN = /https?:\/\/[^\s<>"'`]+/gi;
  var TRAILING_PUNCTUATION = ".,;:!?'\"…";
  var CLOSERS = { ")": "(", "]": "[", "}": "{" };

  function countChar(str, ch) {
    return str.split(ch).length - 1;
  }

  // Leaves sentence punctuation (and unbalanced closing brackets) out of a link.
  function trimUrl(url) {
    while (url.length) {
      var last = url.charAt(url.length - 1);
      if (TRAILING_PUNCTUATION.indexOf(last) !== -1) {
        url = url.slice(0, -1);
      } else if (CLOSERS[last] && countChar(url, last) > countChar(url, CLOSERS[last])) {
        url = url.slice(0, -1);
      } else {
        break;
      }
    }
    return url;
  }

  function isSafeHttpUrl(url) {
    if (!/^https?:\/\//i.test(url)) {
      return false;
    }
    try {
      var parsed = new URL(url);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch (e) {
      return false;
    }
  }

  // Appends text to `parent`, turning http(s) URLs into links.
  function appendLinkifiedText(parent, text) {
    var lastIndex = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      var url = trimUrl(match[0]);
      if (!url || !isSafeHttpUrl(url)) {
        continue;
      }
      if (match.index > lastIndex) {
        parent.appendChild(document.createTextNode(text.slice(lastIndex, match.index)));
      }
      var a = document.createElement("a");
      a.textContent = url;
      a.href = url;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.setAttribute("aria-describedby", "new-tab-note");
      parent.appendChild(a);
      lastIndex = match.index + url.length;
      URL_PATTERN.lastIndex = lastIndex;
    }
    if (lastIndex < text.length) {
      parent.appendChild(document.createTextNode(text.slice(lastIndex)));
    }
  }

  function buildMessage(entry) {
    var fragment = document.createDocumentFragment();

    if (entry.text.trim()) {
      var msg = document.createElement("div");
      msg.className = "msg " + (entry.who === "user" ? "msg-user" : "msg-bot");

      var who = document.createElement("span");
      who.className = "visually-hidden";
      who.textContent = entry.who === "user" ? TEXT.youSaid : TEXT.botSaid;
      msg.appendChild(who);

      var body = document.createElement("span");
      body.className = "msg-text";
      if (entry.who === "bot") {
        appendLinkifiedText(body, entry.text);
      } else {
        body.textContent = entry.text;
      }
      msg.appendChild(body);
      fragment.appendChild(msg);
    }

    if (entry.who === "bot" && entry.buttons.length) {
      var group = document.createElement("div");
      group.className = "quick-replies";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested replies");

      var label = document.createElement("span");
      label.className = "visually-hidden";
      label.textContent = TEXT.suggested;
      group.appendChild(label);

      for (var i = 0; i < entry.buttons.length; i++) {
        group.appendChild(buildQuickReply(entry.buttons[i]));
      }
      fragment.appendChild(group);
    }
    return fragment;
  }

  function buildQuickReply(button) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "quick-reply";
    b.textContent = button.title;
    b.addEventListener("click", function () {
      onQuickReply(button);
    });
    return b;
  }

  // Adds a message to the log (one DOM insertion, so the live region
  // announces it once) and, unless restoring, to the stored history.
  function showMessage(entry, options) {
    var fragment = buildMessage(entry);
    var first = fragment.firstChild;
    if (!first) {
      return;
    }
    el.log.appendChild(fragment);
    if (!(options && options.restoring)) {
      state.history.push(entry);
      saveHistory();
      scrollToNewest(first);
    }
  }

  function scrollToNewest(firstNewNode) {
    var behavior = reducedMotion.matches ? "auto" : "smooth";
    var viewport = window.innerHeight || document.documentElement.clientHeight;
    var msgRect = firstNewNode.getBoundingClientRect();
    var formRect = el.form.getBoundingClientRect();
    try {
      if (formRect.bottom - msgRect.top > viewport) {
        // Too tall to show with the message box: show the start of the message.
        firstNewNode.scrollIntoView({ block: "start", behavior: behavior });
      } else {
        el.form.scrollIntoView({ block: "nearest", behavior: behavior });
      }
    } catch (e) {
      el.form.scrollIntoView(false);
    }
  }

  function clearLog() {
    while (el.log.firstChild) {
      el.log.removeChild(el.log.firstChild);
    }
  }

  // ---------------------------------------------------------------------
  // Status messages
  // ---------------------------------------------------------------------

  function setConnection(kind, text) {
    el.connection.className = "connection-status" + (kind ? " " + kind : "");
    if (el.connection.textContent !== text) {
      el.connection.textContent = text;
    }
  }

  // One notice line in the polite status region. Setting the same notice again
  // toggles a trailing no-break space so screen readers hear it again.
  function setNotice(kind, text) {
    state.noticeKind = text ? kind : "";
    el.notice.className = "input-status" + (text && kind ? " notice-" + kind : "");
    if (!text) {
      el.notice.textContent = "";
      return;
    }
    if (el.notice.textContent === text) {
      text = text + "\u00a0";
    }
    el.notice.textContent = text;
  }

  function clearNotice(kind) {
    if (!kind || state.noticeKind === kind) {
      setNotice("", "");
    }
  }

  function showTyping() {
    if (!el.typing.firstChild) {
      var label = document.createElement("span");
      label.className = "typing-text";
      label.textContent = TEXT.typing;
      var dots = document.createElement("span");
      dots.className = "typing-dots";
      dots.setAttribute("aria-hidden", "true");
      for (var i = 0; i < 3; i++) {
        dots.appendChild(document.createElement("span"));
      }
      var fragment = document.createDocumentFragment();
      fragment.appendChild(label);
      fragment.appendChild(dots);
      el.typing.appendChild(fragment);
    }
    window.clearTimeout(state.typingTimer);
    state.typingTimer = window.setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    window.clearTimeout(state.typingTimer);
    state.typingTimer = null;
    while (el.typing.firstChild) {
      el.typing.removeChild(el.typing.firstChild);
    }
  }

  // ---------------------------------------------------------------------
  // Input: counter, Enter to send, validation
  // ---------------------------------------------------------------------

  function charCount(text) {
    // Count code points, as the server (Python) does.
    return Array.from(text).length;
  }

  function cutToLimit(text, max) {
    var chars = Array.from(text);
    return chars.length > max ? chars.slice(0, max).join("") : text;
  }

  function updateCounter() {
    var max = state.config.maxMessageChars;
    var n = charCount(el.input.value);
    el.counter.textContent = n + " of " + max + " characters";
    var over = n > max;
    el.counter.classList.toggle("over", over);
    if (over) {
      if (state.noticeKind !== "long") {
        setNotice("long", tooLongText(max));
      }
    } else {
      clearNotice("long");
    }
  }

  function onInput() {
    if (el.input.value.trim()) {
      el.input.removeAttribute("aria-invalid");
      clearNotice("empty");
    }
    updateCounter();
  }

  function onKeyDown(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    event.preventDefault();
    submitFromInput();
  }

  function onSubmit(event) {
    event.preventDefault();
    submitFromInput();
  }

  function submitFromInput() {
    var raw = el.input.value;
    var text = raw.trim();
    if (!text) {
      el.input.setAttribute("aria-invalid", "true");
      setNotice("empty", TEXT.empty);
      el.input.focus();
      return;
    }
    if (!state.ready) {
      setNotice("offline", TEXT.notConnected);
      el.input.focus();
      return;
    }
    text = cutToLimit(text, state.config.maxMessageChars);
    if (sendToBot(text, text)) {
      el.input.value = "";
      el.input.removeAttribute("aria-invalid");
      clearNotice();
      updateCounter();
    }
    el.input.focus();
  }

  function onQuickReply(button) {
    if (!state.ready) {
      setNotice("offline", "The assistant is not connected at the moment. Please choose the reply again when the status says Connected.");
      el.input.focus();
      return;
    }
    if (sendToBot(button.payload, button.title)) {
      if (state.noticeKind !== "long") {
        clearNotice();
      }
    }
    el.input.focus();
  }

  // Sends `message` to Rasa and shows `shown` as the user's message.
  function sendToBot(message, shown) {
    if (!state.ready || !state.socket || !state.sessionId) {
      return false;
    }
    var entry = { id: newMessageId(), message: message, parts: [] };
    state.pending.push(entry);
    savePending();
    showMessage({ who: "user", text: shown, buttons: [] });
    emitPending(entry);
    return true;
  }

  // Sends one message (again, after a reconnect or a reload: with the same id). The
  // server acknowledges it once it has been answered.
  function emitPending(entry) {
    var uttered = { message: entry.message, session_id: state.sessionId, message_id: entry.id };
    if (state.config.school) {
      uttered.customData = { school: state.config.school };
    }
    showTyping();
    state.socket.emit("user_uttered", uttered, function (ack) {
      if (!findPending(entry.id)) {
        return;
      }
      forgetPending(entry.id);
      if (!state.pending.length) {
        hideTyping();
      }
      if (ack && ack.ok === false) {
        hideTyping();
        setNotice("info", TEXT.notHandled);
      }
    });
  }

  // ---------------------------------------------------------------------
  // New conversation
  // ---------------------------------------------------------------------

  function startNewConversation() {
    storageRemove(HISTORY_KEY);
    storageRemove(SESSION_KEY);
    storageRemove(PENDING_KEY);
    state.history = [];
    state.pending = [];
    state.sessionId = null;
    clearLog();
    hideTyping();
    setNotice("info", TEXT.newConversation);

    var socket = state.socket;
    if (socket && socket.connected) {
      // A fresh connection makes sure this tab leaves the old session's room,
      // so no late reply from the old conversation can appear.
      state.ready = false;
      setConnection("", TEXT.connecting);
      socket.disconnect();
      socket.connect();
    }
    // If not connected, the next "connect" asks for a new session (id null).
    el.input.focus();
  }

  // ---------------------------------------------------------------------
  // Socket.IO (Rasa socketio channel, session_persistence on)
  // ---------------------------------------------------------------------

  function onBotUttered(data) {
    // A reply to one of our messages says which (reply_to) and which part of the answer it
    // is. A part already shown, or a reply to a message already acknowledged, is a repeat
    // of an answer this page has (the message was sent again): it is not shown twice.
    if (data && typeof data === "object" && typeof data.reply_to === "string") {
      var entry = findPending(data.reply_to);
      var part = typeof data.part === "number" ? data.part : -1;
      if (!entry || entry.parts.indexOf(part) !== -1) {
        return;
      }
      entry.parts.push(part);
      savePending();
    }
    hideTyping();
    var text = "";
    var buttons = [];
    if (typeof data === "string") {
      text = data;
    } else if (data && typeof data === "object") {
      text = toText(data.text);
      buttons = normaliseButtons(data.quick_replies).concat(normaliseButtons(data.buttons));
      // data.attachment (images, templates) is ignored on purpose.
    }
    if (!text.trim() && !buttons.length) {
      return;
    }
    showMessage({ who: "bot", text: text, buttons: buttons });
  }

  function connect() {
    if (typeof window.io !== "function") {
      setConnection("problem", TEXT.noLibrary);
      return;
    }
    var socket = window.io(state.config.socketUrl, {
      path: state.config.socketPath,
      transports: ["websocket", "polling"],
      tryAllTransports: true // fall back to polling if WebSocket is blocked
    });
    state.socket = socket;

    socket.on("connect", function () {
      state.ready = false;
      setConnection("", TEXT.connecting);
      state.requestedId = state.sessionId || null;
      socket.emit("session_request", { session_id: state.requestedId });
    });

    // The server issues the conversation id (signed). It gives the one we asked for back
    // if it is valid; any other answer means a new conversation.
    socket.on("session_confirm", function (data) {
      var id = cleanSessionId(data);
      if (!id) {
        return;
      }
      var continued = !state.requestedId || id === state.requestedId;
      state.requestedId = id;
      state.sessionId = id;
      storageSet(SESSION_KEY, id);
      state.ready = true;
      state.everConnected = true;
      setConnection("ok", TEXT.connected);
      clearNotice("offline");
      if (!continued) {
        storageRemove(HISTORY_KEY);
        storageRemove(PENDING_KEY);
        state.history = [];
        state.pending = [];
        clearLog();
        hideTyping();
        setNotice("info", TEXT.notContinued);
        return;
      }
      // Messages not acknowledged before the connection dropped (or the page reloaded)
      // are sent again with the same ids; the server answers each once.
      for (var i = 0; i < state.pending.length; i++) {
        emitPending(state.pending[i]);
      }
    });

    socket.on("bot_uttered", onBotUttered);

    socket.on("disconnect", function (reason) {
      state.ready = false;
      if (reason === "io client disconnect") {
        return; // we did it ourselves (new conversation); we reconnect at once
      }
      setConnection("problem", TEXT.lost);
      if (reason === "io server disconnect") {
        // The server closed the socket; Socket.IO does not retry by itself then.
        window.setTimeout(function () {
          if (!socket.connected) {
            socket.connect();
          }
        }, 2000);
      }
    });

    socket.on("connect_error", function () {
      state.ready = false;
      if (state.everConnected) {
        setConnection("problem", TEXT.lost);
      } else {
        setConnection("", TEXT.connecting);
      }
      if (!socket.active) {
        // Refused by the server (not a network error): try again later.
        window.setTimeout(function () {
          if (!socket.connected) {
            socket.connect();
          }
        }, 5000);
      }
    });
  }

  // ---------------------------------------------------------------------
  // Config
  // ---------------------------------------------------------------------

  function resolveSocketUrl(raw) {
    var origin = window.location.origin;
    if (typeof raw !== "string" || !raw.trim()) {
      return origin;
    }
    try {
      var u = new URL(raw.trim(), window.location.href);
      if (["http:", "https:", "ws:", "wss:"].indexOf(u.protocol) === -1) {
        return origin;
      }
      // Only scheme, host and port: a path here would be read as a
      // Socket.IO namespace. The path goes in socketPath instead.
      return u.protocol + "//" + u.host;
    } catch (e) {
      return origin;
    }
  }

  function resolveSocketPath(raw) {
    if (typeof raw === "string" && raw.trim().charAt(0) === "/") {
      return raw.trim();
    }
    return DEFAULT_SOCKET_PATH;
  }

  function resolveMaxChars(raw) {
    var n = Number(raw);
    if (isFinite(n) && n >= 1 && n <= 100000) {
      return Math.floor(n);
    }
    return DEFAULT_MAX_CHARS;
  }

  function resolvePrivacyUrl(raw) {
    if (typeof raw !== "string" || !raw.trim()) {
      return null;
    }
    raw = raw.trim();
    if (isSafeHttpUrl(raw)) {
      return raw;
    }
    // A same-site path such as "/privacy" is fine too ("//host" is not).
    if (raw.charAt(0) === "/" && raw.charAt(1) !== "/" && raw.charAt(1) !== "\\") {
      return raw;
    }
    return null;
  }

  function applyConfig(cfg) {
    if (!cfg || typeof cfg !== "object") {
      cfg = {};
    }
    state.config = {
      socketUrl: resolveSocketUrl(cfg.socketUrl),
      socketPath: resolveSocketPath(cfg.socketPath),
      maxMessageChars: resolveMaxChars(cfg.maxMessageChars),
      // The school this page is for (a trust's page at /s/<ref>/); sent with each message.
      school: /^[a-z0-9][a-z0-9-]{1,62}$/.test(toText(cfg.school)) ? toText(cfg.school) : ""
    };

    var school = toText(cfg.schoolName).trim().slice(0, 200);
    if (school) {
      el.schoolName.textContent = school;
      document.title = "SEND questions for parents – " + school;
    }

    var privacyUrl = resolvePrivacyUrl(cfg.privacyNoticeUrl);
    if (privacyUrl) {
      el.privacyLink.href = privacyUrl;
      el.privacyLink.hidden = false;
      el.privacyMissing.hidden = true;
    } else {
      el.privacyLink.hidden = true;
      el.privacyMissing.hidden = false;
    }
    updateCounter();
  }

  function loadConfig() {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller
      ? window.setTimeout(function () {
          controller.abort();
        }, CONFIG_TIMEOUT_MS)
      : null;
    return fetch("./config.json", {
      cache: "no-store",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        return response.ok ? response.json() : {};
      })
      .catch(function () {
        return {};
      })
      .then(function (cfg) {
        window.clearTimeout(timer);
        return cfg;
      });
  }

  // ---------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------

  function init() {
    el.form.addEventListener("submit", onSubmit);
    el.input.addEventListener("keydown", onKeyDown);
    el.input.addEventListener("input", onInput);
    el.newConversation.addEventListener("click", startNewConversation);

    // Restore this tab's conversation before connecting.
    state.sessionId = cleanSessionId(storageGet(SESSION_KEY));
    state.history = loadHistory();
    state.pending = state.sessionId ? loadPending() : [];
    for (var i = 0; i < state.history.length; i++) {
      showMessage(state.history[i], { restoring: true });
    }
    if (state.history.length) {
      setNotice("info", TEXT.restored);
      el.form.scrollIntoView(false);
    }
    updateCounter();
    setConnection("", TEXT.connecting);

    loadConfig().then(function (cfg) {
      applyConfig(cfg);
      connect();
    });
  }

  init();
})();
