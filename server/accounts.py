"""Counselor accounts: creation (CLI first, then admins in the UI) and password checks.

Passwords are hashed with Argon2id (argon2-cffi's defaults: memory-hard, salted, self-describing hashes
that can be upgraded on the next login). Hashing takes tens of milliseconds and 64 MiB, so callers on
the event loop run it in a worker thread.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import re
import sys
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.crypto import FieldCipher, load_or_create_key
from server.store import Account, Store, migrate

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # hashing cost grows with length; a cap keeps a login from being a DoS lever
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("attune-no-such-account")


class AccountError(ValueError):
    """The e-mail or password cannot be used; the message says why, in words for the user."""


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise AccountError("Please enter a valid e-mail address.")
    return value


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")


async def create_account(store: Store, email: str, password: str, *, is_admin: bool = False) -> Account:
    address = normalize_email(email)
    check_password(password)
    if await store.account_with_hash(address) is not None:
        raise AccountError("An account with this e-mail address exists already.")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    account = await store.add_account(address, password_hash, is_admin, datetime.now(UTC))
    log.info("account %s created (admin: %s)", account.id, is_admin)
    return account


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def authenticate(store: Store, email: str, password: str) -> Account | None:
    """The account when the e-mail and password match an enabled account, else None."""
    try:
        address = normalize_email(email)
    except AccountError:
        address = ""
    found = await store.account_with_hash(address) if address else None
    if found is None or len(password) > MAX_PASSWORD_LENGTH:
        await asyncio.to_thread(_verify, _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        return None
    account, password_hash = found
    if not await asyncio.to_thread(_verify, password_hash, password) or account.disabled:
        return None
    if _hasher.check_needs_rehash(password_hash):
        await store.set_password_hash(account.id, await asyncio.to_thread(_hasher.hash, password))
    return account


# --- the `attune create-counselor EMAIL` command ---------------------------------------------------------


def add_create_counselor_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    from dataclasses import replace
    from pathlib import Path

    from server.settings import SettingsError, settings_from_env

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
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = load_or_create_key(settings.data_dir, os.environ.get("ATTUNE_DATA_KEY"))
    migrate(settings.resolved_database_url)

    async def run() -> Account:
        store = Store.open(settings.resolved_database_url, FieldCipher(key))
        try:
            first = await store.count_accounts() == 0
            return await create_account(store, args.email, password, is_admin=args.admin or first)
        finally:
            await store.close()

    try:
        account = asyncio.run(run())
    except AccountError as exc:
        print(f"attune: {exc}", file=sys.stderr)
        return 1
    role = "admin counselor" if account.is_admin else "counselor"
    print(f"created {role} account {account.email} (id {account.id})")
    return 0
