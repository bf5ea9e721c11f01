"""Creating counselor accounts (CLI first, then admins in the UI) and checking their passwords.

Passwords are hashed with Argon2id (argon2-cffi's defaults: memory-hard, salted, self-describing hashes
that can be upgraded on the next login). Hashing takes tens of milliseconds and 64 MiB, so callers on
the event loop run it in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.accounts.repository import Account, Accounts

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


async def create_account(accounts: Accounts, email: str, password: str, *, is_admin: bool = False) -> Account:
    address = normalize_email(email)
    check_password(password)
    if await accounts.with_password_hash(address) is not None:
        raise AccountError("An account with this e-mail address exists already.")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    account = await accounts.add(address, password_hash, is_admin, datetime.now(UTC))
    log.info("account %s created (admin: %s)", account.id, is_admin)
    return account


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def authenticate(accounts: Accounts, email: str, password: str) -> Account | None:
    """The account when the e-mail and password match an enabled account, else None."""
    try:
        address = normalize_email(email)
    except AccountError:
        address = ""
    found = await accounts.with_password_hash(address) if address else None
    if found is None or len(password) > MAX_PASSWORD_LENGTH:
        await asyncio.to_thread(_verify, _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        return None
    account, password_hash = found
    if not await asyncio.to_thread(_verify, password_hash, password) or account.disabled:
        return None
    if _hasher.check_needs_rehash(password_hash):
        await accounts.set_password_hash(account.id, await asyncio.to_thread(_hasher.hash, password))
    return account
