"""Accounts and access: login, cookies, CSRF, rate limiting, logout, and the obvious attacks (another
counselor's session ids, a client's invite token, tampered cookies, SQL injection in search, oversized
bodies)."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from server.accounts.auth import CSRF_COOKIE, SECURE_SESSION_COOKIE, SESSION_COOKIE
from server.accounts.repository import ACCOUNTS
from server.app import create_app
from server.db.database import DATABASE
from server.db.tables import SessionRow, TranscriptLineRow
from server.settings import Settings
from tests.conftest import COUNSELOR_EMAIL, COUNSELOR_PASSWORD, AppHarness
from tests.records.conftest import LINES, second_counselor, seed_session


def set_cookie_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in resp.headers.getall("Set-Cookie", [])}


async def test_login_sets_httponly_samesite_cookies_and_logout_ends_the_login(sqlite_records: AppHarness) -> None:
    client = sqlite_records.client
    resp = await client.post("/api/login", json={"email": COUNSELOR_EMAIL, "password": COUNSELOR_PASSWORD})
    cookies = set_cookie_headers(resp)
    session_cookie = cookies[SESSION_COOKIE]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Path=/" in session_cookie
    assert "Secure" not in session_cookie  # plain HTTP in this test; see the HTTPS test below
    assert "HttpOnly" not in cookies[CSRF_COOKIE]  # pages read it to send the X-CSRF-Token header
    csrf = (await resp.json())["csrf_token"]
    assert (await client.get("/api/me")).status == 200

    resp = await client.post("/api/logout", headers={"X-CSRF-Token": csrf})
    assert resp.status == 204
    assert (await client.get("/api/me")).status == 401
    assert (await client.get("/api/records/sessions")).status == 401


async def test_the_old_cookie_is_dead_after_logout(sqlite_records: AppHarness) -> None:
    client = sqlite_records.client
    stolen = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    assert (await client.post("/api/logout", headers=sqlite_records.csrf)).status == 204
    replay = await client.get("/api/records/sessions", cookies={SESSION_COOKIE: stolen})
    assert replay.status == 401


async def test_cookies_are_secure_and_host_prefixed_under_https(settings: Settings) -> None:
    app = create_app(replace(settings, public_url="https://attune.example.org"))
    async with TestServer(app) as server, TestClient(server) as client:
        await AppHarness(client).login()  # creates the account
        resp = await client.post("/api/login", json={"email": COUNSELOR_EMAIL, "password": COUNSELOR_PASSWORD})
        cookies = set_cookie_headers(resp)
        assert SECURE_SESSION_COOKIE in cookies and SESSION_COOKIE not in cookies
        assert "Secure" in cookies[SECURE_SESSION_COOKIE] and "HttpOnly" in cookies[SECURE_SESSION_COOKIE]
        assert "Secure" in cookies[CSRF_COOKIE]


async def test_wrong_passwords_are_rate_limited_per_address_and_email(settings: Settings) -> None:
    app = create_app(replace(settings, login_max_failures=3, login_failure_window_s=60))
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        statuses = []
        for _ in range(4):
            resp = await client.post("/api/login", json={"email": COUNSELOR_EMAIL, "password": "not the password"})
            statuses.append(resp.status)
        assert statuses == [401, 401, 401, 429]
        assert 1 <= int(resp.headers["Retry-After"]) <= 61
        # Even the right password is refused while the limit holds: guessing gets no signal.
        right = await client.post("/api/login", json={"email": COUNSELOR_EMAIL, "password": COUNSELOR_PASSWORD})
        assert right.status == 429
        assert (await right.json())["error"] == "rate_limited"


async def test_unknown_email_and_wrong_password_look_the_same(sqlite_records: AppHarness) -> None:
    client = sqlite_records.client
    a = await client.post("/api/login", json={"email": "nobody@example.org", "password": "whatever whatever"})
    b = await client.post("/api/login", json={"email": COUNSELOR_EMAIL, "password": "whatever whatever"})
    assert a.status == b.status == 401
    assert await a.json() == await b.json()


async def test_state_changing_requests_need_the_csrf_token(sqlite_records: AppHarness) -> None:
    seeded = await seed_session(sqlite_records)
    client = sqlite_records.client
    base = f"/api/records/sessions/{seeded.session_id}"
    attempts = [
        ("POST", "/api/sessions", None),
        ("POST", f"{base}/notes", {"text": "x"}),
        ("PATCH", f"{base}/notes/1", {"text": "x"}),
        ("DELETE", f"{base}/notes/1", None),
        ("PATCH", f"{base}/lines/1", {"text": "x"}),
        ("DELETE", base, None),
        ("POST", "/api/accounts", {"email": "new@example.org", "password": "long enough pass"}),
        ("POST", "/api/logout", None),
    ]
    for method, path, body in attempts:
        for headers in ({}, {"X-CSRF-Token": "forged"}, {**sqlite_records.csrf, "Origin": "https://evil.example"}):
            resp = await client.request(method, path, json=body, headers=headers)
            assert resp.status == 403, (method, path, headers, resp.status)
            assert (await resp.json())["error"] == "csrf"
    # Nothing changed, and the login still works.
    record = await (await client.get(base)).json()
    assert [ln["text"] for ln in record["lines"]] == [t for *_, t in LINES] and record["notes"] == []
    # A cross-site form cannot log someone in either: login takes JSON only.
    form = await client.post("/api/login", data={"email": COUNSELOR_EMAIL, "password": COUNSELOR_PASSWORD})
    assert form.status == 415


async def test_only_logged_in_counselors_start_sessions_and_see_pages(settings: Settings) -> None:
    app = create_app(settings)
    async with TestServer(app) as server, TestClient(server) as client:
        assert (await client.post("/api/sessions")).status == 401
        start = await client.get("/", allow_redirects=False)
        assert start.status == 302 and start.headers["Location"].startswith("/login")
        records = await client.get("/records", allow_redirects=False)
        assert records.status == 302
        assert (await client.get("/login")).status == 200


async def test_another_counselors_sessions_are_invisible(sqlite_records: AppHarness) -> None:
    mine = await seed_session(sqlite_records)
    server = sqlite_records.client.server
    other = await second_counselor(server)
    try:
        theirs = await seed_session(other, client_name="Morgan Vale")
        assert [s["session_id"] for s in (await (await other.client.get("/api/records/sessions")).json())[
            "sessions"]] == [theirs.session_id]
        base = f"/api/records/sessions/{mine.session_id}"
        mine_note = await sqlite_records.client.post(f"{base}/notes", json={"text": "Mine."},
                                                     headers=sqlite_records.csrf)
        note_id = (await mine_note.json())["note_id"]
        for method, path, body in [
            ("GET", base, None),
            ("GET", f"{base}/export/txt", None),
            ("GET", f"{base}/export/pdf", None),
            ("PATCH", f"{base}/lines/1", {"text": "overwritten"}),
            ("POST", f"{base}/notes", {"text": "planted"}),
            ("PATCH", f"{base}/notes/{note_id}", {"text": "overwritten"}),
            ("DELETE", f"{base}/notes/{note_id}", None),
            ("DELETE", base, None),
        ]:
            resp = await other.client.request(method, path, json=body, headers=other.csrf)
            assert resp.status == 404, (method, path)  # the same answer as for a session that does not exist
        # Searching their own records never returns mine, even for words only mine contain.
        found = await (await other.client.get("/api/records/sessions?q=Quill")).json()  # my client's name
        assert found["sessions"] == []
        # Line ids are global: a line of my session cannot be corrected through their session either.
        my_line = (await (await sqlite_records.client.get(base)).json())["lines"][0]["line_id"]
        resp = await other.client.patch(f"/api/records/sessions/{theirs.session_id}/lines/{my_line}",
                                        json={"text": "cross-session"}, headers=other.csrf)
        assert resp.status == 404
        record = await (await sqlite_records.client.get(base)).json()
        assert record["lines"][0]["text"] == LINES[0][3] and [n["text"] for n in record["notes"]] == ["Mine."]
        # Nor can my note be edited or deleted through their own session.
        for method, body in (("PATCH", {"text": "through theirs"}), ("DELETE", None)):
            resp = await other.client.request(method, f"/api/records/sessions/{theirs.session_id}/notes/{note_id}",
                                              json=body, headers=other.csrf)
            assert resp.status == 404, method
        record = await (await sqlite_records.client.get(base)).json()
        assert [n["text"] for n in record["notes"]] == ["Mine."]
        # A non-admin cannot create accounts or read the accounts list.
        assert (await other.client.get("/api/accounts")).status == 403
        resp = await other.client.post("/api/accounts", json={"email": "x@example.org", "password": "long enough!"},
                                       headers=other.csrf)
        assert resp.status == 403
    finally:
        await other.client.close()


async def test_client_invite_token_and_counselor_link_open_no_records(sqlite_records: AppHarness) -> None:
    seeded = await seed_session(sqlite_records)
    invite = seeded.invite_url.rsplit("/", 1)[1]
    counselor = seeded.counselor_url.rsplit("/", 1)[1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as stranger:
        base = str(sqlite_records.client.make_url(f"/api/records/sessions/{seeded.session_id}"))
        for token in (invite, counselor):
            for attempt in (
                {"headers": {"Authorization": f"Bearer {token}"}},
                {"cookies": {SESSION_COOKIE: token}},
                {"params": {"token": token}},
            ):
                async with stranger.get(base, **attempt) as resp:  # type: ignore[arg-type]
                    assert resp.status == 401, attempt
                async with stranger.get(f"{base}/export/json", **attempt) as resp:  # type: ignore[arg-type]
                    assert resp.status == 401
        # The counselor link stays the key to the live room, as before.
        async with stranger.get(str(sqlite_records.client.make_url(f"/host/{counselor}"))) as resp:
            assert resp.status == 200


async def test_tampered_cookies_are_refused(sqlite_records: AppHarness) -> None:
    client = sqlite_records.client
    real = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    flipped = real[:-1] + ("A" if real[-1] != "A" else "B")
    async with aiohttp.ClientSession() as fresh:
        url = str(client.make_url("/api/records/sessions"))
        for value in (flipped, real[:-4], real + "x", "' OR '1'='1", "x" * 4000, ""):
            async with fresh.get(url, headers={"Cookie": f"{SESSION_COOKIE}={value}"}) as resp:
                assert resp.status in (400, 401), value
        async with fresh.get(url, headers={"Cookie": f"{SESSION_COOKIE}={real}"}) as resp:
            assert resp.status == 200  # the genuine cookie, for contrast


async def test_sql_injection_in_search_finds_nothing_and_breaks_nothing(sqlite_records: AppHarness) -> None:
    seeded = await seed_session(sqlite_records)
    client = sqlite_records.client
    for payload in ["' OR 1=1 --", "%' OR '1'='1", "'; DROP TABLE transcript_lines; --", "\" OR \"\"=\"",
                    "x' UNION SELECT email, password_hash FROM accounts --", "%", "_", "\\"]:
        resp = await client.get("/api/records/sessions", params={"q": payload})
        assert resp.status == 200, payload
        assert (await resp.json())["sessions"] == [], payload
    store = sqlite_records.app[DATABASE]
    async with store.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(TranscriptLineRow)) == len(LINES)
        assert await db.scalar(select(func.count()).select_from(SessionRow)) == 1
    hit = await (await client.get("/api/records/sessions", params={"q": "apartment"})).json()
    assert [s["session_id"] for s in hit["sessions"]] == [seeded.session_id]
    too_long = await client.get("/api/records/sessions", params={"q": "a" * 201})
    assert too_long.status == 400


async def test_oversized_and_malformed_bodies_are_refused_cleanly(sqlite_records: AppHarness) -> None:
    seeded = await seed_session(sqlite_records)
    client = sqlite_records.client
    url = f"/api/records/sessions/{seeded.session_id}/notes"
    huge = await client.post(url, data=b'{"text": "' + b"a" * (200 * 1024) + b'"}',
                             headers={**sqlite_records.csrf, "Content-Type": "application/json"})
    assert huge.status == 413
    login = await client.post("/api/login", data=b"{" + b" " * (200 * 1024) + b"}",
                              headers={"Content-Type": "application/json"})
    assert login.status == 413
    for body in (b"not json", b"[1, 2]", b'{"text": 5}', b'{"text": ""}', b'{"text": "' + b"a" * 10001 + b'"}'):
        resp = await client.post(url, data=body, headers={**sqlite_records.csrf, "Content-Type": "application/json"})
        assert resp.status == 400, body[:20]
        assert "Traceback" not in await resp.text()
    for bad in ("../../etc/passwd", "0" * 16 + "0", "ZZZZZZZZZZZZZZZZ", "%00"):
        assert (await client.get(f"/api/records/sessions/{bad}")).status == 404
    assert (await client.patch(f"/api/records/sessions/{seeded.session_id}/lines/99999999999999999999",
                               json={"text": "x"}, headers=sqlite_records.csrf)).status == 404
    record = await (await client.get(f"/api/records/sessions/{seeded.session_id}")).json()
    assert record["notes"] == []


async def test_admin_adds_a_counselor_who_can_then_log_in(sqlite_records: AppHarness) -> None:
    client = sqlite_records.client
    resp = await client.post("/api/accounts", json={"email": "New.Person@Example.org", "password": "short"},
                             headers=sqlite_records.csrf)
    assert resp.status == 400
    resp = await client.post("/api/accounts", json={"email": "New.Person@Example.org",
                                                    "password": "a sufficiently long one"},
                             headers=sqlite_records.csrf)
    assert resp.status == 201
    assert (await resp.json())["email"] == "new.person@example.org"
    again = await client.post("/api/accounts", json={"email": "new.person@example.org",
                                                     "password": "a sufficiently long one"},
                              headers=sqlite_records.csrf)
    assert again.status == 400
    emails = [a["email"] for a in (await (await client.get("/api/accounts")).json())["accounts"]]
    assert emails == [COUNSELOR_EMAIL, "new.person@example.org"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as newcomer:
        async with newcomer.post(str(client.make_url("/api/login")),
                                 json={"email": "NEW.person@example.org", "password": "a sufficiently long one"}) as r:
            assert r.status == 200 and (await r.json())["is_admin"] is False
        async with newcomer.get(str(client.make_url("/api/records/sessions"))) as r:
            assert (await r.json())["sessions"] == []
    stored_hash = (await sqlite_records.app[ACCOUNTS].with_password_hash("new.person@example.org"))[1]  # type: ignore[index]
    assert stored_hash.startswith("$argon2id$") and "sufficiently" not in stored_hash
