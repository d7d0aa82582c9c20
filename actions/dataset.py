"""One dataset: details, sharing/opening attributes (staff), how to get it."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import catalog_view as view
from catalog_index.search import get_dataset, search
from database import session_scope

# Words of an attribute question that are not part of the dataset's name.
ATTRIBUTE_WORDS = re.compile(
    r"(的)?(共享|开放)(属性|类型|条件|方式|情况)|是什么|是啥|怎么样|属于|哪种|无条件|有条件|不予|共享|开放|"
    r"能不能|可以|能|吗|呢|查一下|查询|我们部门想用|作为工作人员想查|还是|数据集|数据|[，。？?！!：:、 ]"
)


def _pointed_dataset(tracker: Tracker) -> dict | None:
    dataset_id = view.current_dataset_id(tracker)
    if not dataset_id:
        return None
    with session_scope() as session:
        return get_dataset(session, dataset_id)


def _ask_which(dispatcher: CollectingDispatcher) -> list:
    dispatcher.utter_message(text="请告诉我是哪一个数据集：可以说“第二个的详情”，或者直接说数据集的名称。")
    return []


class ActionDatasetDetail(Action):
    def name(self) -> str:
        return "action_dataset_detail"

    def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        record = _pointed_dataset(tracker)
        if record is None:
            return _ask_which(dispatcher)
        dispatcher.utter_message(
            text=view.describe(record),
            buttons=view.request_buttons(record),
        )
        return [SlotSet("dataset_id", record["id"])]


class ActionDatasetAttributes(Action):
    """Staff: "公交站点信息的共享属性是什么" → share/open type and conditions."""

    def name(self) -> str:
        return "action_dataset_attributes"

    def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        record = None
        text = tracker.latest_message.get("text") or ""
        if "这个" in text or view.ordinal(tracker) or next(tracker.get_latest_entity_values("dataset_id"), None):
            record = _pointed_dataset(tracker)
        if record is None:
            name = ATTRIBUTE_WORDS.sub("", text)
            if name:
                with session_scope() as session:
                    result = search(session, name, rows=1)
                    if result.results and not result.low_confidence:
                        record = get_dataset(session, result.results[0]["id"])
        if record is None:
            dispatcher.utter_message(
                text="没有在目录中找到您说的数据集。请告诉我更完整的数据集名称，或先搜索再问“第一个的共享属性”。"
            )
            return []
        dispatcher.utter_message(
            text=f"“{record['title']}”（{record['department']}，编号 {record['id']}）\n"
                 f"{view.attributes(record)}\n{view.ATTRIBUTE_NOTE}"
        )
        return [SlotSet("dataset_id", record["id"])]


class ActionHowToApplyDataset(Action):
    def name(self) -> str:
        return "action_how_to_apply_dataset"

    def run(self, dispatcher, tracker: Tracker, domain) -> list[dict[str, Any]]:
        record = _pointed_dataset(tracker)
        if record is None:
            return _ask_which(dispatcher)
        dispatcher.utter_message(text=view.how_to_get(record), buttons=view.request_buttons(record))
        return [SlotSet("dataset_id", record["id"])]
