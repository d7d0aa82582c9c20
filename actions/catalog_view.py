"""How catalogue search results and datasets are shown in the conversation.

Shared by the search actions and the dataset actions: one place decides the
wording, the buttons and their payloads (the WeChat channel renders the same
buttons as numbered options).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Tracker

from catalog_index import filters

PAGE_ROWS = 5
NEARBY_ROWS = 3  # datasets offered as possibly related when a search finds nothing that fits with confidence
ORDINALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
ATTRIBUTE_NOTE = "（共享、开放属性的分类名称采用《贵州省政府数据共享开放条例》的三分法；贵阳市《办法》中的类别名称尚未核实。）"


def payload(intent: str, **entities: Any) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def yes_no(flag: bool) -> str:
    return "有" if flag else "无"


def result_line(index: int, row: dict) -> str:
    formats = "/".join(row.get("formats") or []) or "—"
    return (
        f"{index}. {row['title']}\n"
        f"   {row['department']} · {row['open_type']} · 格式 {formats} · API：{yes_no(row.get('has_api'))}"
    )


def request_buttons(record: dict) -> list[dict]:
    """申请此数据 only where an application is needed (有条件开放); 提交数据需求 for data not open; none for open data."""
    if record.get("open_type") == "无条件开放":
        return []
    title = "申请此数据" if record.get("open_type") == "有条件开放" else "提交数据需求"
    return [{"title": title, "payload": payload("request_data", dataset_id=record["id"])}]


def result_buttons(row: dict) -> list[dict]:
    return [{"title": "详情", "payload": payload("dataset_detail", dataset_id=row["id"])}, *request_buttons(row)]


def entity_filters(tracker: Tracker) -> dict:
    """Filters named by the latest message's entities (values already canonical; catalog_index.filters)."""
    return filters.from_entities(tracker.latest_message.get("entities", []))


def ordinal(tracker: Tracker) -> int | None:
    value = next(tracker.get_latest_entity_values("ordinal"), None)
    if not value:
        return None
    match = re.search(r"[1-5一二三四五]", value)
    if not match:
        return None
    char = match.group()
    return int(char) if char.isdigit() else ORDINALS[char]


def current_dataset_id(tracker: Tracker) -> str | None:
    """The dataset the user points at: an id, "第二个" of the shown page, or the one last opened."""
    explicit = next(tracker.get_latest_entity_values("dataset_id"), None)
    if explicit:
        return explicit
    shown = tracker.get_slot("search_results") or []
    position = ordinal(tracker)
    if position is not None:
        return shown[position - 1] if 0 < position <= len(shown) else None
    return tracker.get_slot("dataset_id") or (shown[0] if len(shown) == 1 else None)


def describe(record: dict) -> str:
    fields = "、".join(record.get("fields") or []) or "—"
    lines = [
        f"【{record['title']}】（编号 {record['id']}）",
        f"提供部门：{record['department']}",
        f"主题分类：{record.get('category') or '—'}　覆盖范围：{record.get('district') or '—'}",
        f"内容摘要：{record.get('description') or '—'}",
        f"信息项：{fields}",
        f"格式：{'/'.join(record.get('formats') or []) or '—'}　API：{yes_no(record.get('has_api'))}",
        f"更新周期：{record.get('update_frequency') or '—'}　记录数：{record.get('record_count') or '—'}　"
        f"最近更新：{record.get('updated') or '—'}",
        attributes(record),
    ]
    return "\n".join(lines)


def attributes(record: dict) -> str:
    share = record.get("share_type") or "—"
    if record.get("share_condition"):
        share += f"（{record['share_condition']}）"
    opening = record.get("open_type") or "—"
    if record.get("open_condition"):
        opening += f"（{record['open_condition']}）"
    return f"共享属性：{share}\n开放属性：{opening}"


def how_to_get(record: dict) -> str:
    kind = record.get("open_type")
    if kind == "无条件开放":
        return (f"“{record['title']}”是无条件开放的数据，不需要申请，"
                "可以直接在贵阳市政府数据开放平台下载" + ("，也可以通过 API 调用。" if record.get("has_api") else "。"))
    if kind == "有条件开放":
        condition = record.get("open_condition") or "需满足提供部门规定的条件"
        return (f"“{record['title']}”是有条件开放的数据：{condition}。"
                f"需要向提供部门（{record['department']}）提出申请，我可以帮您填写数据申请。")
    reason = record.get("open_condition") or "涉及不宜开放的内容"
    return (f"“{record['title']}”目前不予开放，原因：{reason}。"
            "如确有需要，您可以提出数据需求说明用途，由部门研究能否以其他方式提供（例如脱敏或统计汇总数据）；"
            "也可以拨打 12345 热线咨询。")
