"""``attune create-counselor EMAIL``: the first account (an admin), or more, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from dataclasses import replace
from pathlib import Path

from server.accounts.passwords import AccountError, check_password, create_account, normalize_email
from server.accounts.repository import Account, Accounts
from server.db.database import open_database
from server.settings import SettingsError, settings_from_env


def add_create_counselor_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "create-counselor",
        help="create a counselor account (the first one is an admin who can add others in the UI)",
    )
    parser.add_argument("email")
    parser.add_argument("--admin", action="store_true", help="let this counselor create accounts")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--data-dir", help="folder for the database (ATTUNE_DATA_DIR)")
    parser.add_argument("--database-url", help="SQLAlchemy async URL (ATTUNE_DATABASE_URL)")


def create_counselor_main(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_env()
    except SettingsError as exc:
        print(f"attune: {exc}", file=sys.stderr)
        return 2
    if args.data_dir:
        settings = replace(settings, data_dir=Path(args.data_dir))
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password for the new account: ")
        if getpass.getpass("The same password again: ") != password:
            print("attune: the two passwords differ", file=sys.stderr)
            return 1
    try:
        check_password(password)
        normalize_email(args.email)
    except AccountError as exc:
        print(f"attune: {exc}", file=sys.stderr)
        return 1

    async def run() -> Account:
        database = await open_database(
            settings.resolved_database_url, settings.data_dir, os.environ.get("ATTUNE_DATA_KEY")
        )
        try:
            accounts = Accounts(database)
            first = await accounts.count() == 0
            return await create_account(accounts, args.email, password, is_admin=args.admin or first)
        finally:
            await database.close()

    try:
        account = asyncio.run(run())
    except AccountError as exc:
        print(f"attune: {exc}", file=sys.stderr)
        return 1
    role = "admin counselor" if account.is_admin else "counselor"
    print(f"created {role} account {account.email} (id {account.id})")
    return 0
