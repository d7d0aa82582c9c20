"""A real Sanic server with our channels (WeChat, REST, socket.io) registered the way Rasa registers them, driven
by a small bot (the security suite uses the REST and socket.io channels of the same server).

Run: `python -m tests.wechat.bot_app PORT` with WECHAT_* / DB_URL in the environment and the channel's
credentials as JSON in WECHAT_TEST_CREDENTIALS.  The bot answers through the output channel it is given:
  "slow S <text>"  sleeps S seconds first;   "buttons"  text with two buttons;
  "long N"         N numbered lines;         "boom"     raises;        anything else  "收到：<text>".
GET /test/turns lists the turns the bot received (text, sender, input channel, metadata).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic, response

import privacy
from bot.channels.rest import RestInput
from bot.channels.socketio import SocketIOInput
from bot.channels.wechat import WeChatInput

BUTTONS = [{"title": "查看详情", "payload": "/dataset_detail"}, {"title": "返回", "payload": "/deny"}]


class EchoAgent:
    def __init__(self) -> None:
        self.turns: list[dict] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.turns.append({"text": message.text, "sender_id": message.sender_id,
                           "input_channel": message.input_channel, "metadata": message.metadata})
        logging.getLogger("echo_bot").debug("turn for sender %s: %s", message.sender_id, message.text)
        out, sender, text = message.output_channel, message.sender_id, message.text
        words = text.split(maxsplit=2)
        if words[0] == "slow":
            await asyncio.sleep(float(words[1]))
            await out.send_text_message(sender, f"慢回答：{words[2] if len(words) > 2 else ''}")
        elif text == "buttons":
            await out.send_text_with_buttons(sender, "找到 2 个数据集。", BUTTONS)
        elif words[0] == "long":
            await out.send_text_message(sender, "\n".join(f"第 {i} 行：贵阳市政府数据共享开放" for i in range(int(words[1]))))
        elif text == "boom":
            raise RuntimeError("the bot failed")
        else:
            await out.send_text_message(sender, f"收到：{text}")


def create_app() -> Sanic:
    app = Sanic("wechat_channel_test")
    app.ctx.agent = agent = EchoAgent()
    channel = WeChatInput.from_credentials(json.loads(os.environ.get("WECHAT_TEST_CREDENTIALS", "{}")))
    sockets = SocketIOInput(user_message_evt="user_uttered", bot_message_evt="bot_uttered", session_persistence=True)
    register([channel, RestInput.from_credentials(None), sockets], app, route="/webhooks/")

    @app.get("/test/turns")
    async def turns(_request):  # noqa: ANN001, ANN202
        return response.json(agent.turns)

    return app


if __name__ == "__main__":
    privacy.install_log_masking()  # as the Rasa server's start-up does (bot.tokenizer)
    logging.basicConfig(level=logging.DEBUG, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]), access_log=True, workers=1)
