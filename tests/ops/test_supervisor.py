"""`make run`'s supervisor: all three services up, health green, one instance only,
clean stop on SIGTERM, and data and conversations kept across a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

import settings
from tests.harness import Desk


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            status, body = _get(url)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(url)


@pytest.fixture()
def run_env(tmp_path):
    desk = Desk(tmp_path)  # trains if needed; gives free ports and temp DB paths
    desk.load_catalog()
    return desk, desk.env


def _start(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.supervisor"], env=env, cwd=settings.ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_run_health_single_instance_and_clean_stop(run_env):
    desk, env = run_env
    first = _start(env)
    try:
        health = _wait_healthy(f"{desk.web_url}/api/health", first)
        assert health["ok"] and health["database"]["datasets"] == 1139
        assert health["rasa"]["model"]
        assert desk.texts(desk.say("restart-user", "你好"))

        second = subprocess.run([sys.executable, "-m", "ops.supervisor"], env=env, cwd=settings.ROOT,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "already running" in second.stderr + second.stdout
    finally:
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=60)
    assert first.returncode == 0, out
    assert "stopped." in out
    for port in (desk.conf.rasa_port, desk.conf.actions_port, desk.conf.web_port):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)

    # Restart: the database and the conversation (tracker store) are still there.
    again = _start(env)
    try:
        _wait_healthy(f"{desk.web_url}/api/health", again)
        import sqlite3

        con = sqlite3.connect(desk.conf.tracker_db)
        senders = {row[0] for row in con.execute("SELECT DISTINCT sender_id FROM events")}
        assert "restart-user" in senders
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=60)


def test_port_taken_by_another_program_is_named(run_env):
    desk, env = run_env
    import socket

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", desk.conf.web_port))
    blocker.listen()
    try:
        result = subprocess.run([sys.executable, "-m", "ops.supervisor"], env=env, cwd=settings.ROOT,
                                capture_output=True, text=True, timeout=60)
    finally:
        blocker.close()
    assert result.returncode != 0
    assert str(desk.conf.web_port) in result.stderr


def test_pid_file_is_never_seen_half_written(tmp_path):
    """A reader in another process, polling while the supervisor rewrites var/run/pids.json, only ever reads a
    whole file (before, a read between the truncation and the write found it empty)."""
    from types import SimpleNamespace

    from ops.supervisor import write_pids

    path = tmp_path / "run" / "pids.json"
    fleet = [SimpleNamespace(name=f"service{i}", proc=SimpleNamespace(pid=1000 + i)) for i in range(8)]
    write_pids(fleet, path)
    reader = subprocess.Popen([sys.executable, "-c", (
        "import json, sys, time\n"
        "path, bad, reads, end = sys.argv[1], 0, 0, time.monotonic() + 1.5\n"
        "while time.monotonic() < end:\n"
        "    reads += 1\n"
        "    try:\n"
        "        json.loads(open(path, encoding='utf-8').read())\n"
        "    except ValueError:\n"
        "        bad += 1\n"
        "print(bad, reads)\n"), str(path)], stdout=subprocess.PIPE, text=True)
    while reader.poll() is None:
        write_pids(fleet, path)
    bad, reads = map(int, reader.stdout.read().split())
    assert reads > 1000 and bad == 0, (bad, reads)
