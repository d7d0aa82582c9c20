"""客服消息 (customer-service message) client on aiohttp, with the access_token cache shared through the DB.

`Pusher.send_text()` never raises and never drops an answer: it retries network errors, HTTP 5xx and "system
busy" with exponential backoff, fetches a new access_token when WeChat rejects the cached one (40001, 42001,
40014), and records in `wechat_outbox` whatever it could not deliver.  `python -m bot.channels.wechat_push
redeliver` tries the outbox again (the user's 48-hour window permitting).  No blocking HTTP client is used; the
short DB transactions run in the default thread executor.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from tqdm import tqdm

from bot.channels import wechat_store as store
from privacy import openid_hash

logger = logging.getLogger(__name__)

TOKEN_REJECTED = {40001, 40014, 42001}  # invalid / malformed / expired access_token
TRANSIENT = {-1, 45009}  # system busy; API rate limit reached


class PushError(Exception):
    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient


async def run_db(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a short DB function in the thread executor so the event loop never blocks on SQLite."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(func, *args, **kwargs))


@dataclass
class Pusher:
    api_base: str
    app_id: str
    app_secret: str
    attempts: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0
    db_url: str | None = None

    async def send_text(self, openid: str, content: str) -> bool:
        """Deliver `content` to `openid`; False when it ended in the outbox instead."""
        delivered, reason, attempts = await self._deliver(openid, content)
        if not delivered:
            row = await run_db(store.record_undelivered, openid, content, reason, attempts, self.db_url)
            logger.error("wechat answer for user %s NOT delivered (%s); kept as outbox #%d",
                         openid_hash(openid), reason, row)
        return delivered

    async def redeliver(self) -> tuple[int, int]:
        """Try every pending outbox row once more; (delivered, still pending)."""
        rows = await run_db(store.pending_outbox, self.db_url)
        delivered = 0
        for row in tqdm(rows, desc="outbox", unit="answer", disable=not rows):
            ok, reason, attempts = await self._deliver(row["openid"], row["content"])
            await run_db(store.outbox_attempted, row["id"], ok, reason, attempts, self.db_url)
            delivered += ok
        return delivered, len(rows) - delivered

    async def _deliver(self, openid: str, content: str) -> tuple[bool, str, int]:
        """(delivered, reason of the last failure, attempts made)."""
        user = openid_hash(openid)
        if not (self.app_id and self.app_secret):
            return False, "WECHAT_APP_ID/WECHAT_APP_SECRET not configured", 0
        reason, attempt = "", 0
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while attempt < self.attempts:
                attempt += 1
                try:
                    token = await self._token(http)
                    await self._post(http, token, openid, content)
                    logger.info("wechat push delivered to user %s (attempt %d)", user, attempt)
                    return True, "", attempt
                except PushError as exc:
                    reason = exc.reason
                    if not exc.transient:
                        break
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                logger.warning("wechat push to user %s failed (attempt %d/%d): %s",
                               user, attempt, self.attempts, reason)
                if attempt < self.attempts and not reason.startswith("token rejected"):
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        return False, reason, attempt

    async def _token(self, http: aiohttp.ClientSession) -> str:
        token = await run_db(store.cached_token, self.app_id, db_url=self.db_url)
        if token:
            return token
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        async with http.get(f"{self.api_base}/cgi-bin/token", params=params) as resp:
            data = await self._json(resp)
        if "access_token" not in data:
            code = data.get("errcode")
            raise PushError(f"token request refused: errcode {code} {data.get('errmsg', '')}", code in TRANSIENT)
        await run_db(store.store_token, self.app_id, data["access_token"], int(data.get("expires_in", 7200)),
                     self.db_url)
        logger.info("wechat access_token refreshed (expires in %s s)", data.get("expires_in"))
        return data["access_token"]

    async def _post(self, http: aiohttp.ClientSession, token: str, openid: str, content: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        async with http.post(f"{self.api_base}/cgi-bin/message/custom/send", params={"access_token": token},
                             json=body) as resp:
            data = await self._json(resp)
        code = data.get("errcode", 0)
        if code == 0:
            return
        if code in TOKEN_REJECTED:
            await run_db(store.invalidate_token, self.app_id, token, self.db_url)
            raise PushError(f"token rejected: errcode {code}", transient=True)
        raise PushError(f"errcode {code} {data.get('errmsg', '')}".strip(), code in TRANSIENT)

    @staticmethod
    async def _json(resp: aiohttp.ClientResponse) -> dict:
        if resp.status >= 500:
            raise PushError(f"HTTP {resp.status}", transient=True)
        if resp.status != 200:
            raise PushError(f"HTTP {resp.status}", transient=False)
        return await resp.json(content_type=None)


def main() -> None:
    """`python -m bot.channels.wechat_push redeliver`: retry the answers kept in the outbox."""
    import argparse

    import settings

    parser = argparse.ArgumentParser(prog="python -m bot.channels.wechat_push")
    parser.add_argument("command", choices=["redeliver"])
    parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    conf = settings.get()
    pusher = Pusher(conf.wechat_api_base.rstrip("/"), conf.wechat_app_id, conf.wechat_app_secret)
    delivered, pending = asyncio.run(pusher.redeliver())
    print(f"outbox: {delivered} delivered, {pending} still pending")


if __name__ == "__main__":
    main()
