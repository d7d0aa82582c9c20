"""`python -m tickets`: tokens are shown once, stored hashed, revocable; the demand report prints a table."""

from __future__ import annotations

import os
import subprocess
import sys

import settings
from database import session_scope
from tickets import demand, staff


def cli(db_url: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickets", "--db", db_url, *args], capture_output=True, text=True,
                          cwd=settings.ROOT, env={**os.environ, **(env or {})}, timeout=120)


def test_token_lifecycle(db_url):
    created = cli(db_url, "token", "create", "--name", "陈科长")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith(staff.PREFIX)
    with session_scope(db_url) as session:
        member = staff.verify(session, secret)
        assert member is not None and member.name == "陈科长"
        stored = [t.token_hash for t in staff.list_tokens(session)]
    assert secret not in stored and staff.hash_token(secret) in stored
    listing = cli(db_url, "token", "list").stdout
    assert "陈科长" in listing and secret not in listing
    assert cli(db_url, "token", "revoke", str(member.id)).returncode == 0
    assert cli(db_url, "token", "revoke", str(member.id)).returncode == 1
    with session_scope(db_url) as session:
        assert staff.verify(session, secret) is None
    assert cli(db_url, "token", "seed", env={"STAFF_API_TOKEN": "dev-cli"}).stdout.strip() == "seeded"
    assert cli(db_url, "token", "seed", env={"STAFF_API_TOKEN": "dev-cli"}).stdout.strip() == "already present"


def test_demand_report_table(db_url):
    with session_scope(db_url) as session:
        for _ in range(2):
            demand.record_search_miss(session, "夜间经济商圈客流", {"category": "经济发展"}, "wechat")
    out = cli(db_url, "report", "demand", "--days", "30")
    assert out.returncode == 0, out.stderr
    assert "夜间经济商圈客流" in out.stdout and "经济发展" in out.stdout and "未满足的数据需求" in out.stdout
