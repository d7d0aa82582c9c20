"""Fixtures of the hostile-input suite.

Two kinds of servers: the channel test server of tests/wechat (our real WeChat, REST and socket.io channels in a
real Sanic server, a small echo bot behind them: fast, no model) and the real assistant (`desk`: Rasa with the
trained model and the action server).
"""

from __future__ import annotations

import pytest

from tests.wechat.conftest import (  # noqa: F401 - fixtures shared with the WeChat tests
    ChannelServer,
    _spawn,
    _wait_ready,
    channel_env,
    fake,
    server,
    servers,
    start_server,
    wechat_db,
)

PHONE = "13985017788"
MASKED = "139****7788"


@pytest.fixture(scope="session")
def spawn_channels(tmp_path_factory, channel_env):  # noqa: F811
    """Start a channel test server with extra environment (e.g. REST_TOKEN); stopped at the end."""
    workdir = tmp_path_factory.mktemp("security_servers")
    started: list[ChannelServer] = []

    def spawn(name: str, **env: str) -> ChannelServer:
        started.append(_spawn(workdir, name, {**channel_env, **env}))
        return _wait_ready(started[-1])

    yield spawn
    for one in started:
        if one.proc.poll() is None:
            one.proc.terminate()
            one.proc.wait(30)
