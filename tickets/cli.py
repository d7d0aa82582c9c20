"""`python -m tickets …`: staff tokens, ticket listing and the demand report."""

from __future__ import annotations

import argparse
import json
import sys

import settings
from database import session_scope
from tickets import demand, service, staff


def _tokens(args: argparse.Namespace) -> int:
    with session_scope(args.db) as session:
        if args.token_cmd == "create":
            row, secret = staff.create(session, args.name, args.role)
            print(f"token {row.id} for {row.name} ({row.role}) — shown only once:\n{secret}")
        elif args.token_cmd == "revoke":
            if not staff.revoke(session, args.id):
                print(f"no active token with id {args.id}", file=sys.stderr)
                return 1
            print(f"token {args.id} revoked")
        elif args.token_cmd == "seed":
            token = settings.get().staff_api_token
            if not token:
                print("STAFF_API_TOKEN is not set; nothing to seed", file=sys.stderr)
                return 1
            print("seeded" if staff.seed(session, token) else "already present")
        else:
            for row in staff.list_tokens(session):
                state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
                print(f"{row.id:>4}  {row.name:<24} {row.role:<7} {state}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with session_scope(args.db) as session:
        rows, total = service.list_tickets(session, type=args.type, status=args.status,
                                           overdue=True if args.overdue else None, per_page=args.limit)
        for t in rows:
            late = " 逾期" if service.is_overdue(t) else ""
            print(f"{t.number}  {t.type:<12} {t.status:<11} {t.department or '-':<16} 到期 {t.due_date}{late}")
        print(f"{len(rows)} of {total}")
    return 0


def _report(args: argparse.Namespace) -> int:
    with session_scope(args.db) as session:
        report = demand.demand_report(session, days=args.days, limit=args.limit)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else demand.format_table(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tickets", description=__doc__)
    parser.add_argument("--db", help="database URL (default: settings' DB_URL)")
    sub = parser.add_subparsers(dest="cmd", required=True)

    token = sub.add_parser("token", help="staff API tokens")
    token_sub = token.add_subparsers(dest="token_cmd", required=True)
    create = token_sub.add_parser("create", help="create a token (printed once)")
    create.add_argument("--name", required=True, help="staff identity recorded on transitions")
    create.add_argument("--role", default="agent", choices=("agent", "reader"))
    revoke = token_sub.add_parser("revoke", help="revoke a token")
    revoke.add_argument("id", type=int)
    token_sub.add_parser("list", help="list tokens (never the secrets)")
    token_sub.add_parser("seed", help="store STAFF_API_TOKEN as a development token")
    token.set_defaults(func=_tokens)

    lst = sub.add_parser("list", help="list tickets")
    lst.add_argument("--type", choices=("data_request", "complaint"))
    lst.add_argument("--status")
    lst.add_argument("--overdue", action="store_true")
    lst.add_argument("--limit", type=int, default=50)
    lst.set_defaults(func=_list)

    report = sub.add_parser("report", help="reports")
    report.add_argument("name", choices=("demand",))
    report.add_argument("--days", type=int, default=90)
    report.add_argument("--limit", type=int, default=20)
    report.add_argument("--json", action="store_true", help="JSON instead of a table")
    report.set_defaults(func=_report)

    args = parser.parse_args(argv)
    return args.func(args)
