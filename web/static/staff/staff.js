/*
 * 筑数助手 staff pages on the staff API (Authorization: Bearer <token>):
 * the ticket workbench (/api/tickets…) and the demand dashboard (/api/reports/dashboard).
 * Labels, allowed transitions, which notes the citizen sees and which ticket types may be
 * extended come from /api/desk/meta, so the page offers only what the API will accept.
 * Every time is shown in Beijing time; every error in Chinese.  The list is sorted and paged by the API.
 */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var state = { page: 1, perPage: 100, total: 0, items: [], meta: null, current: null };
  var BEIJING = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false
  });

  function esc(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function beijing(iso) {
    if (!iso) return "";
    var parts = {};
    BEIJING.formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }
  function statusLabel(name) {
    var s = state.meta && state.meta.statuses.filter(function (x) { return x.name === name; })[0];
    return s ? s.label : name;
  }
  function statusOf(name) { return state.meta.statuses.filter(function (x) { return x.name === name; })[0]; }
  function typeOf(name) { return state.meta.types.filter(function (x) { return x.name === name; })[0] || { label: name }; }
  function actorLabel(actor) { return state.meta.actors[actor] || actor; }

  // ---- errors in Chinese ----
  var MESSAGES = [
    [/already extended/, "该工单已经延期过一次，不能再次延期。"],
    [/have no extension/, "此类工单没有延期。"],
    [/cannot be extended/, "已办结的工单不能延期。"],
    [/is not allowed/, "当前状态下不能变更为所选状态，请刷新后重试。"],
    [/note.*required|required.*note|'note'/, "请填写说明：不予受理、办结和延期必须写明理由。"],
    [/resolution/, "办结情况无效，请重新选择。"],
    [/must be between|must be an integer|must be true or false|must be one of/, "筛选条件有误，请重新选择。"]
  ];
  function zhError(status, message) {
    if (status === 0) return "无法连接服务器，请检查网络后重试。";
    if (status === 401) return "令牌无效、已撤销或未填写，请输入有效的工作人员令牌。";
    if (status === 403) return "此令牌为只读，不能办理工单或查看联系方式。";
    if (status === 404) return "没有找到这张工单，可能已被删除或工单号有误。";
    if (status === 503) return "系统繁忙，请稍后重试。";
    for (var i = 0; i < MESSAGES.length; i++) if (MESSAGES[i][0].test(message || "")) return MESSAGES[i][1];
    return "操作没有成功（错误码 " + status + "），请稍后重试或联系系统管理员。";
  }
  function showError(text) { $("error").textContent = text || ""; }

  function token() { return $("token").value.trim(); }
  function api(path, options) {
    options = options || {};
    try { sessionStorage.setItem("staffToken", token()); } catch (e) { /* private mode */ }
    var headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
    return fetch(path, Object.assign({}, options, { headers: headers })).then(function (resp) {
      if (resp.ok) return resp;
      return resp.json().catch(function () { return {}; }).then(function (body) {
        throw new Error(zhError(resp.status, body.error));
      });
    }, function () { throw new Error(zhError(0)); });
  }
  function download(path, filename) {
    showError("");
    return api(path).then(function (resp) { return resp.blob(); }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
    }).catch(function (e) { showError(e.message); });
  }

  // ---- the ticket list ----
  function query(page, perPage) {
    var q = new URLSearchParams({ page: page, per_page: perPage });
    ["type", "status", "department", "sort"].forEach(function (id) { if ($(id).value.trim()) q.set(id, $(id).value.trim()); });
    if ($("overdue").checked) q.set("overdue", "true");
    return q;
  }
  function renderRows() {
    var items = state.items; // in the server's order (the sort control is the API's sort parameter)
    if (!items.length) {
      $("rows").innerHTML = '<tr><td colspan="7">没有符合条件的工单。</td></tr>';
      return;
    }
    $("rows").innerHTML = items.map(function (t) {
      return '<tr class="row' + (t.overdue ? " late" : "") + (state.current === t.number ? " selected" : "") +
        '" tabindex="0" data-n="' + esc(t.number) + '"><td>' + esc(t.number) + "</td><td>" + esc(typeOf(t.type).label) +
        "</td><td>" + esc(t.status_label) + "</td><td>" + esc(t.department || "未指明部门") + "</td><td>" +
        esc(t.due_date || "") + (t.overdue ? ' <span class="late-tag">逾期</span>' : "") + "</td><td>" +
        esc(state.meta.channels[t.channel] || t.channel) + "</td><td>" + esc(beijing(t.created_at)) + "</td></tr>";
    }).join("");
    Array.prototype.forEach.call(document.querySelectorAll("tr.row"), function (tr) {
      tr.addEventListener("click", function () { show(tr.dataset.n, true); });
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") show(tr.dataset.n, true); });
    });
  }
  function load() {
    showError("");
    var q = query(state.page, state.perPage);
    return api("/api/tickets?" + q).then(function (r) { return r.json(); }).then(function (data) {
      state.total = data.total;
      state.items = data.items;
      $("rows").setAttribute("data-sort", q.get("sort")); // the order the rows are in
      var departments = {};
      data.items.forEach(function (t) { if (t.department) departments[t.department] = true; });
      $("departments").innerHTML = Object.keys(departments).map(function (d) { return '<option value="' + esc(d) + '">'; }).join("");
      renderRows();
      $("page").textContent = "第 " + state.page + " 页，共 " + Math.max(1, Math.ceil(data.total / state.perPage)) +
        " 页（" + data.total + " 件）";
    }).catch(function (e) { showError(e.message); });
  }

  // ---- one ticket ----
  function fieldsHtml(t, contact) {
    var rows = [["类型", typeOf(t.type).label], ["状态", t.status_label], ["渠道", state.meta.channels[t.channel] || t.channel],
      ["提交时间", beijing(t.created_at)],
      ["办理期限", (t.due_date || "") + (t.due_date_estimate ? "（估算）" : "") + (t.overdue ? "　已逾期" : "")]];
    // the ticket type's fields and their labels from the registry (tickets/types.py via /api/desk/meta)
    (typeOf(t.type).fields || []).forEach(function (f) { if (t[f.column]) rows.push([f.label, t[f.column]]); });
    if (t.resolution) rows.push(["办结情况", state.meta.resolutions[t.resolution] || t.resolution]);
    var html = rows.map(function (r) { return "<dt>" + esc(r[0]) + "</dt><dd>" + esc(r[1]) + "</dd>"; }).join("");
    var phone = t.anonymous ? "匿名（未留电话）" : (contact ? contact.phone : t.phone);
    html += "<dt>联系电话</dt><dd id=\"phone\">" + (contact && contact.phone ?
      '<a href="tel:' + esc(contact.phone) + '">' + esc(contact.phone) + "</a>" : esc(phone || "未留")) +
      (!t.anonymous && !contact ? ' <button type="button" id="reveal">查看联系方式</button>' : "") + "</dd>";
    return '<dl class="fields">' + html + "</dl>" +
      (contact ? '<p class="hint" id="reveal-note">已显示完整联系方式；本次查看已记入工单记录。</p>' :
        '<p class="hint">联系方式默认部分隐藏；点击“查看联系方式”会记入工单记录。</p>');
  }
  function historyHtml(t) {
    return '<ol class="history">' + t.history.map(function (h) {
      var what = h.kind === "status" ? (h.from ? statusLabel(h.from) + " → " : "提交：") + statusLabel(h.to) : state.meta.events[h.kind] || h.kind;
      var visible = (h.kind === "status" && statusOf(h.to) && statusOf(h.to).note_public) || h.kind === "extension";
      var badge = h.note ? (visible ? ' <span class="badge public">市民可见</span>' : ' <span class="badge internal">仅内部</span>') : "";
      return "<li><time>" + esc(beijing(h.at)) + "</time>　" + esc(what) + badge + (h.note ? "：" + esc(h.note) : "") +
        "　<small>（" + esc(actorLabel(h.actor)) + "）</small></li>";
    }).join("") + "</ol>";
  }
  function actionsHtml(t) {
    var status = statusOf(t.status);
    var html = "";
    if (status.allowed.length) {
      html += '<div class="box"><h3>办理</h3><div class="actions"><label>变更为 <select id="to">' +
        status.allowed.map(function (s) { return '<option value="' + s + '">' + esc(statusLabel(s)) + "</option>"; }).join("") +
        "</select></label>" + (t.type === "data_request" ? '<label>办结情况 <select id="resolution"><option value="">（不选）</option>' +
        Object.keys(state.meta.resolutions).map(function (r) {
          return '<option value="' + r + '">' + esc(state.meta.resolutions[r]) + "</option>";
        }).join("") + "</select></label>" : "") + '</div><label for="reply" id="reply-label"></label>' +
        '<p class="hint" id="reply-hint"></p><textarea id="reply"></textarea>' +
        '<div class="actions"><button type="button" class="primary" id="move">确认变更</button></div></div>';
    } else {
      html += '<p class="hint">此工单已是最终状态（' + esc(status.label) + "），不能再变更。</p>";
    }
    var extended = t.history.some(function (h) { return h.kind === "extension"; });
    if (typeOf(t.type).extension && status.open && !extended) {
      html += '<div class="box"><h3>延期</h3><p class="hint">此类工单可延期一次；延期理由<b>市民可见</b>。</p>' +
        '<label for="extend-note" class="sr-only">延期理由</label><textarea id="extend-note" placeholder="延期理由（必填）"></textarea>' +
        '<div class="actions"><button type="button" id="extend">申请延期</button></div></div>';
    }
    html += '<div class="box"><h3>内部备注 <span class="badge internal">仅工作人员可见</span></h3>' +
      '<label for="note" class="sr-only">内部备注</label><textarea id="note" placeholder="市民看不到内部备注"></textarea>' +
      '<div class="actions"><button type="button" id="add-note">添加内部备注</button></div></div>';
    return html;
  }
  function updateReplyLabel() {
    var target = statusOf($("to").value);
    $("reply-label").innerHTML = target.note_public ? '答复市民 <span class="badge public">市民可见</span>' :
      '变更说明 <span class="badge internal">仅内部</span>';
    $("reply-hint").textContent = target.note_public ? "这段文字会出现在市民查询工单进度的结果里" +
      (target.note_required ? "（必填）。" : "。") : "市民只看到状态变化，看不到这段说明（选填）。";
  }
  function post(number, path, body) {
    showError("");
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function () { return show(number); }).then(load).catch(function (e) { showError(e.message); });
  }
  function show(number, focus, contact) {
    showError("");
    state.current = number;
    var path = "/api/tickets/" + encodeURIComponent(number) + (contact ? "?reveal=contact" : "");
    return api(path).then(function (r) { return r.json(); }).then(function (t) {
      $("detail").innerHTML = "<h2>" + esc(t.number) + ' <span class="badge">' + esc(t.status_label) + "</span>" +
        (t.overdue ? ' <span class="late-tag">逾期</span>' : "") + "</h2>" + fieldsHtml(t, contact ? t : null) +
        actionsHtml(t) + "<h3>工单记录</h3>" + historyHtml(t);
      var base = "/api/tickets/" + encodeURIComponent(number);
      if ($("reveal")) $("reveal").onclick = function () { show(number, false, true); };
      if ($("to")) {
        $("to").onchange = updateReplyLabel;
        updateReplyLabel();
        $("move").onclick = function () {
          var body = { to: $("to").value, note: $("reply").value };
          if ($("resolution") && $("resolution").value) body.resolution = $("resolution").value;
          post(number, base + "/transitions", body);
        };
      }
      if ($("extend")) $("extend").onclick = function () { post(number, base + "/extension", { note: $("extend-note").value }); };
      $("add-note").onclick = function () {
        if (!$("note").value.trim()) { showError("请先填写内部备注。"); return; }
        post(number, base + "/notes", { note: $("note").value });
      };
      renderRows();
      if (focus) $("detail").focus();
    }).catch(function (e) { showError(e.message); });
  }

  // ---- the dashboard ----
  function loadDashboard() {
    showError("");
    return api("/api/reports/dashboard?days=" + $("days").value).then(function (r) { return r.json(); }).then(function (d) {
      $("dash-totals").innerHTML = "<div><b>" + d.totals.searches + "</b>次搜索无结果</div><div><b>" + d.totals.requests +
        "</b>件目录外数据申请</div><div><b>" + d.totals.distinct_needs + "</b>项不同需求</div><div>统计自 " + esc(d.since) + "</div>";
      $("dash-ratings").textContent = d.ratings.total ? "共 " + d.ratings.total + " 次评价，满意率 " +
        Math.round(d.ratings.share_satisfied * 100) + "%（答复后与对话结束时的评价合计）" : "这段时间还没有评价。";
      Object.keys(d.charts).forEach(function (key) { $("chart-" + key).innerHTML = d.charts[key]; }); // SVG built server-side, text escaped there
      $("dash-themes").innerHTML = d.needs_by_theme.length ? d.needs_by_theme.map(function (t) {
        return "<h4>" + esc(t.theme) + '</h4><table><thead><tr><th scope="col">需求</th><th scope="col">搜索无结果</th>' +
          '<th scope="col">目录外申请</th><th scope="col">部门</th><th scope="col">最近出现</th></tr></thead><tbody>' +
          t.needs.map(function (n) {
            return "<tr><td>" + esc(n.need) + "</td><td>" + n.searches + "</td><td>" + n.requests + "</td><td>" +
              esc(n.department) + "</td><td>" + esc(n.last_seen) + "</td></tr>";
          }).join("") + "</tbody></table>";
      }).join("") : "<p>这段时间没有未满足的需求。</p>";
    }).catch(function (e) { showError(e.message); });
  }

  function showView(name) {
    var dashboard = name === "dashboard";
    $("view-tickets").hidden = dashboard;
    $("view-dashboard").hidden = !dashboard;
    $("tab-tickets").setAttribute("aria-pressed", String(!dashboard));
    $("tab-dashboard").setAttribute("aria-pressed", String(dashboard));
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    if (dashboard && token()) loadDashboard();
  }

  // ---- start ----
  try { $("token").value = sessionStorage.getItem("staffToken") || ""; } catch (e) { /* private mode */ }
  fetch("/api/desk/meta").then(function (r) { return r.json(); }).then(function (meta) {
    state.meta = meta;
    $("status").innerHTML += meta.statuses.map(function (s) { return '<option value="' + s.name + '">' + esc(s.label) + "</option>"; }).join("");
    $("type").innerHTML += meta.types.map(function (t) { return '<option value="' + t.name + '">' + esc(t.label) + "</option>"; }).join("");
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); state.page = 1; load(); });
    $("sort").onchange = function () { state.page = 1; load(); };
    $("prev").onclick = function () { if (state.page > 1) { state.page -= 1; load(); } };
    $("next").onclick = function () { if (state.page * state.perPage < state.total) { state.page += 1; load(); } };
    $("export").onclick = function () { download("/api/desk/tickets.csv?" + query(1, 1), "工单.csv"); };
    $("dash-load").onclick = loadDashboard;
    $("dash-export").onclick = function () { download("/api/reports/dashboard.csv?days=" + $("days").value, "未满足数据需求.csv"); };
    $("tab-tickets").onclick = function () { showView("tickets"); };
    $("tab-dashboard").onclick = function () { showView("dashboard"); };
    showView(location.hash === "#dashboard" ? "dashboard" : "tickets");
    if (token() && location.hash !== "#dashboard") load();
  }).catch(function () { showError(zhError(0)); });
})();
