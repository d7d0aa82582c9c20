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
  var CONSENT_KEY = "zhushu.consent";
  // The assistant asks for a personal field (name, phone): the privacy notice comes first.
  var PERSONAL_QUESTION = /请问您的姓名|请输入您的姓名|请提供(企业|机构)的全称|请留下联系电话|您的称呼|回电号码/;
  // A form question: the 取消 chip is offered until the form ends.
  var FORM_QUESTION = /请问您|请提供|请留下|请输入|请具体|请核对|请简要|请从|如需通过电子邮箱|涉及哪个部门|方便接听|您的称呼/;
  var GOODBYE = /再见|感谢您的使用|祝您/;
  var MENU = ["查找数据", "申请数据", "查询工单进度", "投诉纠错", "转人工"];
  var PHONE = /(^|\D)(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)/g;

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
  // The stored history keeps no full phone number: 138****5678.
  function maskPhones(text) {
    return String(text || "").replace(PHONE, function (all, before, head, middle, tail) { return before + head + "****" + tail; });
  }
  function remember(message) {
    var history = readHistory();
    history.push(Object.assign({}, message, { text: maskPhones(message.text) }));
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
    var pattern = /\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>"'，。；、）)]+)|(\b12345\b)/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1]) {
        parent.appendChild(element("strong", null, match[1]));
      } else if (match[3]) {
        var call = element("a", null, match[3]);
        call.href = "tel:12345";
        parent.appendChild(call);
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

  var SPEAKERS = { user: "我", bot: "筑数助手", welcome: "筑数助手", note: "提示" };
  function render(message) {
    var item = element("li", "msg msg-" + message.who);
    item.dataset.speaker = SPEAKERS[message.who] || "";
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
    sendButton.disabled = !ready || !$("chat-consent").hidden;
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
    afterBot(render(message), message);
  });

  socket.on("disconnect", function (reason) {
    if (reason === "io client disconnect") return; // our own "新对话" reconnect
    setState("offline");
    if (reason === "io server disconnect") socket.connect(); // not retried automatically
  });
  socket.on("connect_error", function () { setState("offline"); });

  // What follows a bot message (live, or the last one restored after a reload): consent, 取消, rating.
  function afterBot(item, message) {
    followForm(message.text);
    if (!message.buttons && !FORM_QUESTION.test(message.text || "")) {
      offerRating(item, GOODBYE.test(message.text || "") ? "conversation" : "answer");
    }
  }

  // ---- 满意/不满意 after an answer and at the end of a conversation (stored without personal data) ----
  function offerRating(item, moment) {
    Array.prototype.forEach.call(list.querySelectorAll(".rating:not(.done)"), function (old) { old.remove(); });
    var box = element("div", "rating");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", moment === "conversation" ? "评价本次对话" : "评价这个回答");
    box.appendChild(element("span", "rating-label", moment === "conversation" ? "本次对话您满意吗？" : "这个回答有帮助吗？"));
    [["satisfied", "满意"], ["unsatisfied", "不满意"]].forEach(function (pair) {
      var node = element("button", "chat-button rating-button", pair[1]);
      node.type = "button";
      node.addEventListener("click", function () {
        fetch("/api/ratings", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ value: pair[0], moment: moment }) }).then(function (resp) {
          box.classList.add("done");
          box.textContent = resp.ok ? "感谢您的评价！" + (pair[0] === "unsatisfied" ? "可以点“转人工”或拨打 12345 获得人工帮助。" : "") :
            "评价没有提交成功，请稍后再试。";
        }, function () { box.textContent = "评价没有提交成功，请稍后再试。"; });
      });
      box.appendChild(node);
    });
    item.appendChild(box);
    list.scrollTop = list.scrollHeight;
  }

  // ---- privacy consent, the menu and the 取消 chip ----
  var consent = $("chat-consent");
  if (config.keepDays) $("keep-days").textContent = config.keepDays; // the retention settings (settings.py)
  if (config.redactMinutes) $("redact-minutes").textContent = config.redactMinutes;
  function askConsent(show) {
    consent.hidden = !show;
    input.disabled = show;
    sendButton.disabled = show || !ready;
    if (show) $("consent-yes").focus();
  }
  function followForm(text) {
    cancelChip.hidden = !FORM_QUESTION.test(text || "");
    if (PERSONAL_QUESTION.test(text || "") && load(CONSENT_KEY) !== "yes") askConsent(true);
  }
  $("consent-yes").addEventListener("click", function () {
    save(CONSENT_KEY, "yes");
    askConsent(false);
    note("您已同意个人信息告知，可以继续填写。");
    input.focus();
  });
  $("consent-no").addEventListener("click", function () {
    askConsent(false);
    send("取消", "不同意，取消填写");
  });
  var menu = $("chat-menu");
  function chip(title, className) {
    var node = element("button", "chat-button " + className, title);
    node.type = "button";
    node.addEventListener("click", function () { send(title, title); });
    menu.appendChild(node);
    return node;
  }
  MENU.forEach(function (title) { chip(title, "menu-item"); });
  var cancelChip = chip("取消", "cancel-chip");
  cancelChip.hidden = true;

  // Show `shown` as the user's message and send `payload` to Rasa.
  function send(payload, shown) {
    if (!ready) {
      note(TEXT.notReady);
      return false;
    }
    var message = { who: "user", text: shown };
    cancelChip.hidden = true;
    retireButtons();
    remember(message);
    render(message);
    socket.emit("user_uttered", { message: payload, session_id: sessionId });
    startTyping();
    return true;
  }

  function startOver() {
    forget(HISTORY_KEY);
    forget(CONSENT_KEY);
    askConsent(false);
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
  var lastSaid = readHistory().pop();
  if (lastSaid && lastSaid.who === "bot") afterBot(list.lastElementChild, lastSaid);
  setState("connecting");
})();
