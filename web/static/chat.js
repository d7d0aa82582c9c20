/*
 * 筑数助手 chat widget: a small client for Rasa's socketio channel.
 *
 * Protocol (rasa/core/channels/socketio.py, credentials.yml `socketio:` with
 * session_persistence: true):
 *   client → session_request {session_id}   server → session_confirm <session_id>
 *   client → user_uttered {message, session_id}
 *   server → bot_uttered {text} | {text, quick_replies: [{title, payload}]} | {attachment}
 * The session id and the rendered history live in localStorage, so a reload
 * continues the same Rasa conversation and shows what was said.
 * Buttons answer the message they came with: once the user sends anything (a
 * button or typed text) every earlier button is retired (disabled for good),
 * so an old "提交" cannot be pressed after the form has moved on.
 */
(function () {
  "use strict";

  var config = window.ZHUSHU_CONFIG || {};
  var SOCKET_URL = config.socketUrl || location.protocol + "//" + location.hostname + ":5005";
  var SOCKET_PATH = config.socketPath || "/socket.io";
  var TRANSPORTS = config.transports || ["websocket", "polling"];
  var SESSION_KEY = "zhushu.session_id";
  var HISTORY_KEY = "zhushu.history";
  var HISTORY_LIMIT = 200;
  var REPLY_TIMEOUT_MS = 30000;

  var TEXT = {
    welcome:
      "您好！我是筑数助手。我可以帮您查找贵阳市开放数据，解答《贵阳市政府数据共享开放实施办法》的相关问题（注明出处），" +
      "也可以帮您申请数据、投诉纠错、查询工单进度。\n请直接输入问题，或点击下面的示例：",
    examples: ["目录里有多少数据集", "查找公交站点的数据", "《办法》是什么时候施行的", "我要申请数据", "查询工单进度"],
    connecting: "正在连接…",
    online: "在线",
    offline: "连接已断开",
    offlineBanner:
      "抱歉，暂时连接不上筑数助手，正在自动重试……您的对话记录已保存，恢复连接后可以继续。" +
      "如需紧急帮助，请拨打 12345 政务服务便民热线。",
    notReady: "连接恢复后才能发送，您输入的内容已保留。",
    slowReply: "回复时间较长，请稍候；如果一直没有回复，请重新发送或拨打 12345 政务服务便民热线。",
    noSocketLib: "聊天组件加载失败，请刷新页面重试；如需帮助请拨打 12345 政务服务便民热线。",
  };

  var $ = function (id) { return document.getElementById(id); };
  var list = $("chat-messages");
  var input = $("chat-input");
  var sendButton = $("chat-send");
  var statusEl = $("chat-status");
  var banner = $("chat-banner");
  var typing = $("chat-typing");
  var ready = false; // connected and the session confirmed: messages can be sent
  var replyTimer = null;

  // ---- storage (localStorage can be unavailable: private mode, policies) ----
  var memoryStore = {};
  function load(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return memoryStore[key] || null; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { memoryStore[key] = value; }
  }
  function forget(key) {
    try { window.localStorage.removeItem(key); } catch (e) { /* memory only */ }
    delete memoryStore[key];
  }
  function readHistory() {
    try { return JSON.parse(load(HISTORY_KEY)) || []; } catch (e) { return []; }
  }
  function remember(message) {
    var history = readHistory();
    history.push(message);
    save(HISTORY_KEY, JSON.stringify(history.slice(-HISTORY_LIMIT)));
  }

  // ---- rendering ----
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // Plain text with newlines (kept by CSS white-space: pre-wrap), **bold** and links.
  function appendRichText(parent, text) {
    var pattern = /\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>"'，。；、）)]+)/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1]) {
        parent.appendChild(element("strong", null, match[1]));
      } else {
        var link = element("a", null, match[2]);
        link.href = match[2];
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        parent.appendChild(link);
      }
      last = pattern.lastIndex;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function render(message) {
    var item = element("li", "msg msg-" + message.who);
    if (message.text) {
      var bubble = element("div", "bubble");
      appendRichText(bubble, message.text);
      item.appendChild(bubble);
    }
    if (message.image) {
      var image = element("img");
      image.src = message.image;
      image.alt = "图片";
      item.appendChild(image);
    }
    if (message.buttons && message.buttons.length) {
      var box = element("div", "buttons");
      if (message.retired) box.classList.add("retired");
      message.buttons.forEach(function (button) {
        var node = element("button", "chat-button", button.title);
        node.type = "button";
        node.disabled = !ready || !!message.retired;
        node.addEventListener("click", function () {
          if (send(button.payload || button.title, button.title)) node.classList.add("chosen");
        });
        box.appendChild(node);
      });
      item.appendChild(box);
    }
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    return item;
  }

  // Every button shown so far stops working: the user has answered or moved on.
  function retireButtons() {
    Array.prototype.forEach.call(list.querySelectorAll(".buttons:not(.retired)"), function (box) {
      box.classList.add("retired");
      Array.prototype.forEach.call(box.querySelectorAll(".chat-button"), function (node) { node.disabled = true; });
    });
  }

  // Saved history: buttons followed by a user message were answered or passed over.
  function restoreHistory() {
    var history = readHistory();
    var lastUser = -1;
    history.forEach(function (message, i) { if (message.who === "user") lastUser = i; });
    history.forEach(function (message, i) {
      render(i < lastUser && message.buttons ? Object.assign({}, message, { retired: true }) : message);
    });
  }

  function renderWelcome() {
    var buttons = TEXT.examples.map(function (text) { return { title: text, payload: text }; });
    render({ who: "welcome", text: TEXT.welcome, buttons: buttons });
  }

  function note(text) {
    render({ who: "note", text: text });
  }

  // Normalise one bot_uttered payload into {who, text, buttons, image}.
  function fromBot(data) {
    var message = { who: "bot", text: data.text || "" };
    var buttons = data.quick_replies || data.buttons || [];
    if (buttons.length) {
      message.buttons = buttons.map(function (b) { return { title: b.title, payload: b.payload }; });
    }
    var attachment = data.attachment;
    if (attachment && attachment.type === "image" && attachment.payload) {
      message.image = attachment.payload.src || attachment.payload.url;
    }
    return message;
  }

  // ---- connection state ----

  function setState(state) {
    ready = state === "online";
    statusEl.dataset.state = state;
    statusEl.textContent = TEXT[state];
    banner.hidden = state !== "offline";
    banner.textContent = state === "offline" ? TEXT.offlineBanner : "";
    sendButton.disabled = !ready;
    Array.prototype.forEach.call(list.querySelectorAll(".buttons:not(.retired) .chat-button"), function (node) {
      node.disabled = !ready;
    });
    if (!ready) stopTyping();
  }

  function startTyping() {
    typing.hidden = false;
    clearTimeout(replyTimer);
    replyTimer = setTimeout(function () {
      typing.hidden = true;
      note(TEXT.slowReply);
    }, REPLY_TIMEOUT_MS);
  }

  function stopTyping() {
    typing.hidden = true;
    clearTimeout(replyTimer);
  }

  // ---- socket ----
  if (typeof window.io !== "function") {
    renderWelcome();
    setState("offline");
    banner.textContent = TEXT.noSocketLib;
    return;
  }

  var sessionId = load(SESSION_KEY);
  var socket = window.io(SOCKET_URL, { path: SOCKET_PATH, transports: TRANSPORTS });

  socket.on("connect", function () {
    socket.emit("session_request", { session_id: sessionId });
  });

  socket.on("session_confirm", function (data) {
    var confirmed = data && typeof data === "object" ? data.session_id : data;
    if (!confirmed) return;
    if (sessionId && confirmed !== sessionId) startOver(); // the server began a new conversation
    sessionId = confirmed;
    save(SESSION_KEY, sessionId);
    setState("online");
  });

  socket.on("bot_uttered", function (data) {
    stopTyping();
    var message = fromBot(data || {});
    if (!message.text && !message.image && !message.buttons) return;
    remember(message);
    render(message);
  });

  socket.on("disconnect", function (reason) {
    if (reason === "io client disconnect") return; // our own "新对话" reconnect
    setState("offline");
    if (reason === "io server disconnect") socket.connect(); // not retried automatically
  });
  socket.on("connect_error", function () { setState("offline"); });

  // Show `shown` as the user's message and send `payload` to Rasa.
  function send(payload, shown) {
    if (!ready) {
      note(TEXT.notReady);
      return false;
    }
    var message = { who: "user", text: shown };
    retireButtons();
    remember(message);
    render(message);
    socket.emit("user_uttered", { message: payload, session_id: sessionId });
    startTyping();
    return true;
  }

  function startOver() {
    forget(HISTORY_KEY);
    list.textContent = "";
    renderWelcome();
  }

  // ---- composer ----
  function submitInput() {
    var text = input.value.trim();
    if (!text) return;
    if (send(text, text)) input.value = "";
    input.focus();
  }

  $("chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
  });

  input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a newline; Enter while an IME composes Chinese is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitInput();
    }
  });

  $("chat-reset").addEventListener("click", function () {
    forget(SESSION_KEY);
    sessionId = null;
    startOver();
    setState("connecting");
    socket.disconnect().connect(); // leave the old conversation's room, ask for a new session
  });

  // ---- start: restore the conversation, then connect ----
  renderWelcome();
  restoreHistory();
  setState("connecting");
})();
