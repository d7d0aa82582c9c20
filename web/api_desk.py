"""What the staff pages need beyond the ticket API: Chinese labels, the ticket CSV in Chinese and the demand dashboard.

- `GET /api/desk/meta`: statuses and their labels, the transitions allowed from each, which notes the citizen sees,
  the ticket types (label, whether the due date may be extended, their fields' columns and Chinese labels from
  tickets/types.py), channels, actors, closing resolutions.  No
  personal data, so no token.
- `GET /api/desk/tickets.csv`: the staff API's ticket export (`service.export_csv`, no personal data) with Chinese
  headers and labels and times in Beijing time (staff token).
- `GET /api/reports/dashboard`: the demand report (`tickets.demand`) and the chat page's 满意/不满意 ratings
  (`web.ratings`) with their charts as SVG (staff token).
- `GET /api/reports/dashboard.csv`: the top unmet needs as a CSV in Chinese (staff token).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from html import escape
from urllib.parse import quote

from aiohttp import web

from tickets import demand, transitions, types
from tickets.models import CHANNELS, utcnow
from tickets.service import EXPORT_COLUMNS, export_csv, list_tickets, write_csv
from web import ratings
from web.api_tickets import EXPORT_LIMIT, _filters, _int_param, _staff
from web.common import dumps, in_session

BEIJING = timezone(timedelta(hours=8))
CHANNEL_LABELS = {"web": "网页", "wechat": "微信", "rest": "接口", "api": "工作人员录入", "other": "其他"}
ACTOR_LABELS = {"applicant": "市民", "system": "系统"}
EVENT_LABELS = {"status": "状态变更", "note": "内部备注", "extension": "延期", "contact_viewed": "查看联系方式"}
# a note on a move to these statuses is the reply the citizen sees in the public status lookup
PUBLIC_NOTE_STATUSES = ("answered", "closed", "rejected")
CONTACT_COLUMNS = ("phone",)  # shown by the page itself: masked, with the audited 查看联系方式 button
EXPORT_HEADERS = {
    "number": "工单号", "type": "类型", "status": "状态", "channel": "渠道", "department": "部门",
    "dataset_id": "数据集编号", "requested_data": "申请数据", "applicant_type": "申请人类型", "category": "问题类别",
    "anonymous": "匿名", "created_at": "提交时间（北京时间）", "due_date": "办理期限", "overdue": "是否逾期",
    "closed_at": "办结时间（北京时间）", "resolution": "办结情况",
}
NEED_HEADERS = ("需求", "合计", "搜索无结果次数", "目录外申请件数", "主题", "部门", "首次出现", "最近出现")


def beijing(iso: str) -> str:
    """An ISO time (UTC) as 'YYYY-MM-DD HH:MM' in Beijing time; '' stays ''."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def meta() -> dict:
    return {
        "statuses": [{"name": s, "label": transitions.LABELS[s], "open": s in transitions.OPEN_STATUSES,
                      "allowed": list(transitions.ALLOWED[s]), "note_required": s in transitions.NOTE_REQUIRED,
                      "note_public": s in PUBLIC_NOTE_STATUSES} for s in transitions.STATUSES],
        "types": [{"name": t.name, "label": t.label, "extension": t.extension, "anonymous": t.anonymous,
                   "fields": [{"column": f.column, "label": f.label} for f in (*t.extra, *t.fields)
                              if f.column not in CONTACT_COLUMNS]}
                  for t in types.TYPES.values()],
        "channels": {c: CHANNEL_LABELS.get(c, c) for c in CHANNELS},
        "actors": ACTOR_LABELS,
        "events": EVENT_LABELS,
        "resolutions": transitions.RESOLUTIONS,
    }


async def get_meta(request: web.Request) -> web.Response:
    return web.json_response(meta(), dumps=dumps)


def _csv(filename: str, header: list[str] | tuple[str, ...], rows: list[list]) -> web.Response:
    out = io.StringIO()
    write_csv(out, header, rows)
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": "attachment; filename*=UTF-8''" + quote(filename)})


def chinese_export(english_csv: str) -> list[list[str]]:
    """The rows of `service.export_csv` with Chinese values: labels for codes, 是/否, Beijing time."""
    labels = {"type": {t.name: t.label for t in types.TYPES.values()}, "status": transitions.LABELS,
              "channel": CHANNEL_LABELS, "resolution": transitions.RESOLUTIONS,
              "anonymous": {"1": "是", "0": "否"}, "overdue": {"1": "是", "0": "否"}}
    rows = []
    for row in csv.DictReader(io.StringIO(english_csv)):
        for column in ("created_at", "closed_at"):
            row[column] = beijing(row[column])
        rows.append([labels.get(column, {}).get(row[column], row[column]) for column in EXPORT_COLUMNS])
    return rows


async def export_tickets(request: web.Request) -> web.Response:
    await _staff(request)
    filters = _filters(request)

    def work(session) -> str:
        return export_csv(list_tickets(session, page=1, per_page=EXPORT_LIMIT, **filters)[0])

    english = await in_session(request, work)
    return _csv("工单.csv", [EXPORT_HEADERS[c] for c in EXPORT_COLUMNS], chinese_export(english))


# -- charts: small server-rendered SVG, no script library ---------------------------------------------

BAR_COLOURS = ("#0b4f9c", "#d97706")


def bar_chart(title: str, rows: list[tuple[str, int]]) -> str:
    """Horizontal bars, one per (label, count)."""
    rows = rows[:12]
    high = max([count for _, count in rows] + [1])
    width, label_w, bar_h = 560, 190, 26
    height = 20 + bar_h * max(len(rows), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>']
    if not rows:
        parts.append('<text x="10" y="30" font-size="14" fill="#5f6b7a">暂无数据</text>')
    for i, (label, count) in enumerate(rows):
        y = 10 + i * bar_h
        w = max(2, round((width - label_w - 50) * count / high))
        short = label if len(label) <= 12 else label[:11] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" font-size="14" text-anchor="end" fill="#1f2933">'
                     f'{escape(short)}</text><rect x="{label_w}" y="{y + 4}" width="{w}" height="{bar_h - 8}" '
                     f'fill="{BAR_COLOURS[0]}"/><text x="{label_w + w + 6}" y="{y + 17}" font-size="14" '
                     f'fill="#1f2933">{count}</text>')
    return "".join(parts) + "</svg>"


def week_chart(title: str, weeks: list[dict]) -> str:
    """Stacked columns per week: searches that found nothing and requests for data not in the catalogue."""
    width, height, base, left = 560, 220, 180, 40
    high = max([w["searches"] + w["requests"] for w in weeks] + [1])
    step = min((width - left - 10) / max(len(weeks), 1), 80)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>',
             f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#5f6b7a"/>',
             f'<text x="{left - 6}" y="{base - 150}" font-size="12" text-anchor="end" fill="#1f2933">{high}</text>']
    if not weeks:
        parts.append('<text x="50" y="100" font-size="14" fill="#5f6b7a">暂无数据</text>')
    for i, week in enumerate(weeks):
        x, y = left + i * step + step * 0.15, base
        for value, colour in zip((week["searches"], week["requests"]), BAR_COLOURS, strict=True):
            h = round(150 * value / high)
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{step * 0.7:.1f}" height="{h}" fill="{colour}"/>')
        parts.append(f'<text x="{x + step * 0.35:.1f}" y="{base + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#1f2933">{week["week"][5:]}</text>')
    for i, (name, colour) in enumerate(zip(("搜索无结果", "目录外申请"), BAR_COLOURS, strict=True)):
        parts.append(f'<rect x="{left + i * 120}" y="{height - 18}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{left + i * 120 + 18}" y="{height - 8}" font-size="13" fill="#1f2933">{name}</text>')
    return "".join(parts) + "</svg>"


def dashboard(report: dict) -> dict:
    """The demand report with its charts and, per theme, the needs behind it."""
    by_theme: dict[str, list[dict]] = {}
    for need in report["top_needs"]:
        by_theme.setdefault(need["theme"], []).append(need)
    return {
        **report,
        "needs_by_theme": [{"theme": theme, "needs": needs} for theme, needs in by_theme.items()],
        "charts": {
            "top_needs": bar_chart("未满足需求排行（次数）", [(n["need"], n["total"]) for n in report["top_needs"]]),
            "by_theme": bar_chart("按主题", [(r["theme"], r["count"]) for r in report["by_theme"]]),
            "by_department": bar_chart("按部门", [(r["department"], r["count"]) for r in report["by_department"]]),
            "by_week": week_chart("每周趋势（周一起）", report["by_week"]),
            "ratings": bar_chart("市民评价", [(ratings.VALUES[v], report["ratings"][v]) for v in ratings.VALUES]),
        },
    }


async def _report(request: web.Request) -> dict:
    await _staff(request)
    days = _int_param(request, "days", 90, 1, 3650)
    limit = _int_param(request, "limit", 20, 1, 200)

    def work(session) -> dict:
        report = demand.demand_report(session, days=days, limit=limit)
        return {**report, "ratings": ratings.summary(session, utcnow() - timedelta(days=days))}

    return await in_session(request, work)


async def get_dashboard(request: web.Request) -> web.Response:
    return web.json_response(dashboard(await _report(request)), dumps=dumps)


async def dashboard_csv(request: web.Request) -> web.Response:
    report = await _report(request)
    rows = [[n["need"], n["total"], n["searches"], n["requests"], n["theme"], n["department"], n["first_seen"],
             n["last_seen"]] for n in report["top_needs"]]
    return _csv("未满足数据需求.csv", NEED_HEADERS, rows)


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/desk/meta", get_meta)
    router.add_get("/api/desk/tickets.csv", export_tickets)
    router.add_get("/api/reports/dashboard", get_dashboard)
    router.add_get("/api/reports/dashboard.csv", dashboard_csv)
