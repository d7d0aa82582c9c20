"""Live catalogue counts: "目录里有多少数据集？"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from catalog_index.stats import catalog_counts
from database import session_scope


class ActionCatalogStats(Action):
    def name(self) -> str:
        return "action_catalog_stats"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[dict[str, Any]]:
        with session_scope() as session:
            counts = catalog_counts(session)
        dispatcher.utter_message(
            text=(
                f"目前数据目录共收录 {counts['datasets']} 个数据集，"
                f"来自 {counts['departments']} 个部门，"
                f"其中 {counts['with_api']} 个数据集提供 API 接口。"
                "您可以直接告诉我想找什么数据，例如“公交站点”“花溪区的学校”。"
            )
        )
        return []
