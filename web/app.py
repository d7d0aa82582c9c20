"""The aiohttp application: wiring of the API modules, the page and /api/health."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import text

import settings
from catalog_index import columns
from database import engine
from web import api_datasets, api_desk, api_tickets, ratings

STATIC = Path(__file__).resolve().parent / "static"
CHECK_TIMEOUT = aiohttp.ClientTimeout(total=3)
HEADERS = web.AppKey("security_headers", dict)


def _check_database(url: str) -> dict:
    with engine(url).connect() as conn:
        datasets = conn.execute(text("SELECT count(*) FROM datasets")).scalar_one()
    return {"ok": True, "datasets": datasets}


async def _check_http(session: aiohttp.ClientSession, url: str, **params: str) -> dict:
    async with session.get(url, params=params) as resp:
        body = await resp.json(content_type=None)
        return {"ok": resp.status == 200, "status": resp.status, "body": body}


async def _check_rasa(session: aiohttp.ClientSession, conf: settings.Settings) -> dict:
    """Rasa is up and has a model.

    With RASA_API_TOKEN set, Rasa's own /status names the loaded model.  Without
    it the HTTP API is off, so we check that the server answers and that the
    model file the supervisor hands it exists.
    """
    if conf.rasa_api_token:
        result = await _check_http(session, f"{conf.rasa_url}/status", token=conf.rasa_api_token)
        model = (result.get("body") or {}).get("model_file") if result["ok"] else None
        return {"ok": bool(model), "model": model}
    async with session.get(conf.rasa_url + "/") as resp:
        up = resp.status == 200
    model = conf.model_path
    return {"ok": up and model.exists(), "model": model.name if model.exists() else None}


async def _guard(coro) -> dict:
    try:
        return await coro
    except Exception as exc:  # a health check reports every failure as data
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


async def health(request: web.Request) -> web.Response:
    conf = settings.get()
    loop = asyncio.get_running_loop()

    async def database() -> dict:
        return await loop.run_in_executor(None, _check_database, request.app["db_url"])

    async with aiohttp.ClientSession(timeout=CHECK_TIMEOUT) as session:
        db, actions, rasa = await asyncio.gather(
            _guard(database()),
            _guard(_check_http(session, conf.actions_url.replace("/webhook", "/health"))),
            _guard(_check_rasa(session, conf)),
        )
    actions.pop("body", None)
    checks = {"database": db, "action_server": actions, "rasa": rasa}
    ok = all(check["ok"] for check in checks.values())
    return web.json_response({"ok": ok, **checks}, status=200 if ok else 503)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def staff_page(request: web.Request) -> web.FileResponse:
    """The staff pages: the ticket workbench and the demand dashboard (both on the staff token)."""
    return web.FileResponse(STATIC / "staff" / "index.html")


async def page_config(request: web.Request) -> web.Response:
    """Where the chat page (web/static/chat.js) finds Rasa's socketio channel."""
    conf = settings.get()
    config = {"socketUrl": conf.rasa_url, "socketPath": "/socket.io",
              "keepDays": conf.tracker_retention_days, "redactMinutes": conf.tracker_redact_idle_minutes}
    return web.Response(
        text=f"window.ZHUSHU_CONFIG = {json.dumps(config)};\n",
        content_type="application/javascript",
        headers={"Cache-Control": "no-cache"},
    )


def security_headers(conf: settings.Settings) -> dict[str, str]:
    """Headers of every response: the pages load only their own scripts, styles and images (no inline code) and
    talk only to this service and Rasa's socket.io; no framing, no MIME sniffing, no referrer to other sites."""
    rasa = conf.rasa_url
    sockets = " ".join(dict.fromkeys([rasa, rasa.replace("http", "ws", 1), conf.allowed_origin]))
    return {
        "Content-Security-Policy": (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                    f"connect-src 'self' {sockets}; frame-ancestors 'none'; base-uri 'none'; "
                                    f"form-action 'self'; object-src 'none'"),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(request.app[HEADERS])


async def _warm_search(app: web.Application) -> None:
    """Build the search snapshot in the background, so the first search does not pay for it."""
    asyncio.get_running_loop().run_in_executor(None, columns.warm, app["db_url"])


def create_app(db_url: str | None = None) -> web.Application:
    conf = settings.get()
    app = web.Application(client_max_size=conf.api_body_max_bytes)
    app["db_url"] = db_url or conf.db_url
    app[HEADERS] = security_headers(conf)
    app.on_response_prepare.append(_add_security_headers)  # every response: pages, static files, API, errors
    app.on_startup.append(_warm_search)
    app.router.add_get("/api/health", health)
    api_datasets.setup_routes(app)
    api_tickets.setup_routes(app)
    api_desk.setup_routes(app)
    ratings.setup_routes(app)
    app.router.add_get("/", index)
    app.router.add_get("/staff", staff_page)
    app.router.add_get("/staff/", staff_page)
    app.router.add_get("/config.js", page_config)
    app.router.add_static("/static/", STATIC)
    return app
