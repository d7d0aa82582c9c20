"""`python -m bot.tracker_store retention [--days N] [--idle-minutes M] [--endpoints endpoints.yml]`

Applies the tracker store's retention to the store configured in the endpoints file (`make retention`): deletes
conversations idle longer than TRACKER_RETENTION_DAYS and masks phone numbers in conversations idle longer than
TRACKER_REDACT_IDLE_MINUTES (settings.py).  Safe to run while the assistant runs, e.g. daily from cron.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rasa.utils.endpoints import read_endpoint_config

import privacy
import settings
from bot.tracker_store import PrivacySQLTrackerStore


def main(argv: list[str] | None = None) -> int:
    privacy.install_log_masking()
    conf = settings.get()
    parser = argparse.ArgumentParser(prog="python -m bot.tracker_store")
    commands = parser.add_subparsers(dest="command", required=True)
    retention = commands.add_parser("retention", help="delete old conversations, mask phones in idle ones")
    retention.add_argument("--days", type=int, default=conf.tracker_retention_days)
    retention.add_argument("--idle-minutes", type=int, default=conf.tracker_redact_idle_minutes)
    retention.add_argument("--endpoints", type=Path, default=settings.ROOT / "endpoints.yml")
    args = parser.parse_args(argv)

    # endpoints.yml's ${…} values, as the services get them (ops.services.child_env)
    os.environ.setdefault("TRACKER_DB", conf.tracker_db)
    os.environ.setdefault("ACTIONS_URL", conf.actions_url)
    endpoint = read_endpoint_config(str(args.endpoints), "tracker_store")
    if endpoint is None:
        print(f"no tracker_store in {args.endpoints}", file=sys.stderr)
        return 2
    store = PrivacySQLTrackerStore(host=endpoint.url, **endpoint.kwargs)
    report = store.apply_retention(args.days, args.idle_minutes)
    print(f"deleted {report.conversations_deleted} conversation(s) idle over {args.days} days "
          f"({report.events_deleted} events); masked phones in {report.events_redacted} event(s) of "
          f"{report.conversations_checked} conversation(s) idle over {args.idle_minutes} minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
