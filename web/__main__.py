"""`python -m web`: run the web/API service on DESK_HOST:WEB_PORT."""

from aiohttp import web

import privacy
import settings
from web.app import create_app

if __name__ == "__main__":
    privacy.install_log_masking()
    conf = settings.get()
    web.run_app(create_app(), host=conf.host, port=conf.web_port, print=None)
