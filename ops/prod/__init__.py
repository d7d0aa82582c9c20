"""The production profile's own servers: a PostgreSQL 15 cluster, Redis and haproxy (`make run-prod`).

Everything runs in the foreground under the supervisor (`ops/supervisor.py --prod`), so Ctrl-C stops it with the
rest and a server that dies is restarted like any service.  `ops/prod/install_prod.sh` installs Debian's packages;
their system units are never used.

- PostgreSQL: a cluster in `PG_DATA` (initdb `--locale=C.UTF-8`: with the C locale full-width punctuation glues
  words), run as the `postgres` user when we are root (initdb and postgres refuse root), listening on TCP only
  (`PG_HOST:PG_PORT`), `trust` authentication for the role `PG_USER` (a city with remote clients sets a password
  and a `~/.pgpass`; libpq reads it for us and for Rasa).  Databases: `desk` (catalogue, tickets, WeChat state)
  and `desk_tracker` (Rasa's SQL tracker store).
- Redis: Rasa's lock store only (nothing to persist: locks live seconds), `REDIS_HOST:REDIS_PORT`.
- haproxy: the public ports.  Rasa (`RASA_PORT`): every conversation goes to one Rasa process by consistent
  hashing on its sender (REST: `sender` in the JSON body; WeChat: the `openid` URL parameter; socket.io: the
  `session_id` URL parameter, else the client address), so the two OSS races (RedisLockStore's ticket issuing
  is not atomic across processes; SQLTrackerStore appends by counting stored events) never meet two processes
  on one conversation.  Action server (`ACTIONS_PORT`) and web service (`WEB_PORT`): least connections.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path

import settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CATALOG_DB = "desk"
TRACKER_DB = "desk_tracker"
ENDPOINTS = Path(__file__).resolve().parent / "endpoints.yml"
PG_POOL = {"POSTGRESQL_POOL_SIZE": "5", "POSTGRESQL_MAX_OVERFLOW": "10"}  # Rasa's default 50 + 100 per process


def db_url(conf: settings.Settings, name: str = CATALOG_DB) -> str:
    return f"postgresql+psycopg2://{conf.pg_user}@{conf.pg_host}:{conf.pg_port}/{name}"


def server_env(conf: settings.Settings) -> dict[str, str]:
    """What ops/prod/endpoints.yml and the services read: the PostgreSQL databases and Redis, and the profile's
    defaults for what faces the public: the REST channel off unless REST_TOKEN is set (an explicit REST_CHANNEL
    wins), CORS for the chat page's origin only (SITE_ORIGIN, else the public web port), and X-Forwarded-For
    trusted from haproxy alone (TRUSTED_PROXIES, else this host's address: haproxy connects from it)."""
    return {
        "REST_CHANNEL": conf.rest_channel or ("on" if conf.rest_token else "off"),
        "SITE_ORIGIN": conf.allowed_origin,
        "TRUSTED_PROXIES": ",".join(conf.trusted_proxies or (conf.host,)),
        "DB_URL": db_url(conf),
        "TRACKER_DB": TRACKER_DB,
        "PG_HOST": conf.pg_host,
        "PG_PORT": str(conf.pg_port),
        "PG_USER": conf.pg_user,
        "REDIS_HOST": conf.redis_host,
        "REDIS_PORT": str(conf.redis_port),
        **PG_POOL,
    }


# -- PostgreSQL --------------------------------------------------------------------------------------------
def postgres_user() -> dict:
    """Popen/run keyword arguments that drop to the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": pwd.getpwnam("postgres").pw_gid, "extra_groups": []}


def init_cluster(datadir: Path) -> None:
    """initdb once; the directory (and every parent) must be reachable by the `postgres` user."""
    if (datadir / "PG_VERSION").exists():
        return
    datadir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
    datadir.chmod(0o700)
    subprocess.run([str(PG_BIN / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                    "--locale=C.UTF-8", "-E", "UTF8"], check=True, capture_output=True, **postgres_user())


def postgres_cmd(conf: settings.Settings, datadir: Path, *options: str) -> list[str]:
    """The postmaster in the foreground; `options` are extra `name=value` server settings."""
    cmd = [str(PG_BIN / "postgres"), "-D", str(datadir), "-p", str(conf.pg_port),
           "-c", f"listen_addresses={conf.pg_host}", "-c", "unix_socket_directories=",
           "-c", "max_connections=200"]
    for option in options:
        cmd += ["-c", option]
    return cmd


def _connect(conf: settings.Settings, dbname: str = "postgres", user: str = "postgres"):  # noqa: ANN202
    import psycopg2

    return psycopg2.connect(host=conf.pg_host, port=conf.pg_port, user=user, dbname=dbname, connect_timeout=2)


def pg_ready(conf: settings.Settings) -> bool:
    try:
        _connect(conf).close()
        return True
    except Exception:  # noqa: BLE001 - psycopg2.OperationalError while starting up or refused
        return False


def create_database(conf: settings.Settings, name: str) -> None:
    """The role PG_USER (login, may create databases) and database `name` owned by it, if missing."""
    conn = _connect(conf)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (conf.pg_user,))
        if not cur.fetchone():
            cur.execute(f'CREATE ROLE "{conf.pg_user}" LOGIN CREATEDB')
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}" OWNER "{conf.pg_user}" TEMPLATE template0 ENCODING \'UTF8\'')
    conn.close()


# -- Redis ---------------------------------------------------------------------------------------------------
def redis_cmd(conf: settings.Settings, workdir: Path) -> list[str]:
    return ["redis-server", "--bind", conf.redis_host, "--port", str(conf.redis_port), "--save", "",
            "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "no"]


def redis_ready(conf: settings.Settings) -> bool:
    try:
        with socket.create_connection((conf.redis_host, conf.redis_port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# -- haproxy -------------------------------------------------------------------------------------------------
HAPROXY_HEAD = """\
global
    maxconn 8192
    log stdout format raw local0 info
    stats socket {socket} mode 600

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    timeout http-request 30s
    # The client's address for the services' per-client limits and audit log (web/common.client_address trusts
    # it only from TRUSTED_PROXIES); a header a client sent itself is kept in front of it, never in its place.
    option forwardfor
    # A process that died: a refused connection, or a reused keep-alive connection that answers nothing, is
    # retried on another server of the backend (requests are buffered, so a POST can be sent again).
    retries 2
    retry-on conn-failure empty-response
    option redispatch 1
    default-server inter 1s fall 2 rise 2
"""

# haproxy's consistent-hash ring has 16 points per unit of a server's weight.  At the default weight (1) two
# Rasa processes split the conversations 43.5 / 56.5 % (3,000 random senders of the load script); all at the
# highest weight (256: 4,096 points each) the split is 50.6 / 49.4.  Equal weights keep the pinning and the small
# remap when a process comes or goes.  It matters where each process has its own core or host: on one machine
# whose cores all processes share, the throughput did not change (docs/performance.md).
RING_WEIGHT = 256

RASA_FRONTEND = """
frontend rasa
    bind {host}:{port}
    # The conversation key: REST's JSON "sender", WeChat's openid, socket.io's session id (else the client).
    option http-buffer-request
    http-request set-var(txn.conv) req.body,json_query('$.sender') if {{ path_beg /webhooks/rest/ }}
    http-request set-var(txn.conv) url_param(openid) if {{ path_beg /webhooks/wechat/ }}
    http-request set-var(txn.conv) url_param(session_id) if {{ path_beg /socket.io/ }}
    http-request set-var(txn.conv) src,ipmask(32) if {{ path_beg /socket.io/ }} !{{ var(txn.conv) -m found }}
    default_backend rasa

backend rasa
    balance hash var(txn.conv)
    hash-type consistent
    http-response set-header X-Desk-Rasa %s
"""

POOL = """
frontend {name}
    bind {host}:{port}
    default_backend {name}

backend {name}
    balance leastconn
"""


def haproxy_socket(conf: settings.Settings) -> Path:
    return conf.var_dir / "haproxy.sock"


def haproxy_config(conf: settings.Settings, ports: dict[str, list[int]]) -> str:
    """haproxy.cfg for the public ports; `ports`: service → its processes' internal ports."""
    host = conf.host
    parts = [HAPROXY_HEAD.format(socket=haproxy_socket(conf)), RASA_FRONTEND.format(host=host, port=conf.rasa_port)]
    parts += [f"    server rasa{i + 1} {host}:{p} weight {RING_WEIGHT} check\n" for i, p in enumerate(ports["rasa"])]
    for name, public in (("actions", conf.actions_port), ("web", conf.web_port)):
        parts.append(POOL.format(name=name, host=host, port=public))
        parts += [f"    server {name}{i + 1} {host}:{p} check\n" for i, p in enumerate(ports[name])]
    return "".join(parts)


def haproxy_all_up(conf: settings.Settings) -> bool:
    """Every server of every backend UP by haproxy's own health checks (its admin socket's `show stat`), so that
    no conversation is hashed onto a smaller ring and moved a moment later."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(haproxy_socket(conf)))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return False
    rows = [line.split(",") for line in data.decode().splitlines()[1:] if line]
    servers = [row for row in rows if len(row) > 17 and row[1] not in ("FRONTEND", "BACKEND")]
    return bool(servers) and all(row[17] == "UP" for row in servers)


def haproxy_cmd(config: Path) -> list[str]:
    return ["haproxy", "-db", "-f", str(config)]  # -db: foreground, no daemon
