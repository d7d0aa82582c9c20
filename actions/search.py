"""Dataset search in the conversation: search, refine, next page.

The catalogue search runs in-process (`catalog_index.search`): the action
server and the web/API service use the same library on the same database, so
the assistant pays no extra HTTP hop and cannot drift from the API.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import catalog_view as view
from catalog_index.columns import snapshot
from catalog_index.filters import describe_with_names
from catalog_index.search import InvalidParameter, search
from database import session_scope
from message_kind import is_payload
from tickets.demand import record_search_miss
from tickets.models import INPUT_CHANNELS

NEXT_STEP = "换个说法再试，或者提交数据需求，我们会转给相关部门研究是否开放。"


def run_search(
    dispatcher: CollectingDispatcher, tracker: Tracker, query: str, filters: dict, page: int
) -> list[dict[str, Any]]:
    """Search, show one page, and remember the search in slots for follow-ups."""
    with session_scope() as session:
        while True:
            try:
                result = search(session, query, page=page, rows=view.PAGE_ROWS, **filters)
                break
            except InvalidParameter as err:  # a filter the catalogue does not know: search without it
                if err.param not in filters:
                    raise
                dispatcher.utter_message(text=f"筛选条件“{filters.get(err.param)}”在目录中不存在，已忽略。")
                filters = {k: v for k, v in filters.items() if k != err.param}
        found = result.count > 0 and not result.low_confidence
        department_names = snapshot(session).department_names
        if not found and page == 1:
            channel = INPUT_CHANNELS.get(tracker.get_latest_input_channel() or "", "api")
            record_search_miss(session, query, filters, channel)
    filters = {**filters, **result.applied_filters}
    shown_filters = describe_with_names(filters, department_names)
    scope = f"（筛选：{shown_filters}）" if shown_filters else ""
    if not found and page > 1:
        dispatcher.utter_message(text="已经是最后一页了，没有更多结果。")
        return []
    events = [SlotSet("search_query", query), SlotSet("search_filters", filters), SlotSet("search_page", page)]
    if not found:
        label = query or shown_filters or "这个条件"
        request = [{"title": "提交数据需求", "payload": view.payload("request_data", requested_data=label)}]
        nearby = result.results[:view.NEARBY_ROWS]  # low confidence: the nearest datasets, not presented as hits
        missing = f"抱歉，数据目录中没有找到与“{label}”{scope}"
        if not nearby:
            dispatcher.utter_message(text=f"{missing}相符的数据集。您可以{NEXT_STEP}", buttons=request)
        else:
            dispatcher.utter_message(text=f"{missing}完全相符的数据集。下面几个数据集可能相关，供您参考：")
            for index, row in enumerate(nearby, start=1):
                dispatcher.utter_message(text=view.result_line(index, row), buttons=view.result_buttons(row))
            dispatcher.utter_message(text=f"如果都不是您要的，可以{NEXT_STEP}", buttons=request)
        return events + [SlotSet("search_results", [row["id"] for row in nearby])]
    pages = (result.count + view.PAGE_ROWS - 1) // view.PAGE_ROWS
    dispatcher.utter_message(text=f"为您找到 {result.count} 个相关数据集{scope}，第 {page}/{pages} 页：")
    start = (page - 1) * view.PAGE_ROWS
    for offset, row in enumerate(result.results, start=1):
        dispatcher.utter_message(text=view.result_line(start + offset, row), buttons=view.result_buttons(row))
    if page < pages:
        dispatcher.utter_message(
            text="回复“下一页”查看更多，或告诉我筛选条件，例如“只要花溪区的”“有API的吗”。",
            buttons=[{"title": "下一页", "payload": "/next_page"}],
        )
    return events + [SlotSet("search_results", [row["id"] for row in result.results])]


class ActionSearchDatasets(Action):
    def name(self) -> str:
        return "action_search_datasets"

    def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        query = "" if is_payload(text) else text
        filters = view.entity_filters(tracker)
        if not query and not filters:
            dispatcher.utter_message(text="请告诉我您想找什么数据，例如“公交站点”“花溪区的学校名单”“有API的交通数据”。")
            return []
        return run_search(dispatcher, tracker, query, filters, page=1)


class ActionRefineSearch(Action):
    def name(self) -> str:
        return "action_refine_search"

    def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        query = tracker.get_slot("search_query")
        if query is None:
            dispatcher.utter_message(text="请先告诉我您想找什么数据，我再帮您筛选。")
            return []
        filters = {**(tracker.get_slot("search_filters") or {}), **view.entity_filters(tracker)}
        return run_search(dispatcher, tracker, query, filters, page=1)


class ActionNextPage(Action):
    def name(self) -> str:
        return "action_next_page"

    def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        query = tracker.get_slot("search_query")
        if query is None:
            dispatcher.utter_message(text="还没有搜索结果可以翻页，请先告诉我您想找什么数据。")
            return []
        page = int(tracker.get_slot("search_page") or 1) + 1
        return run_search(dispatcher, tracker, query, tracker.get_slot("search_filters") or {}, page)
