"""The consent text a client reads: complete (camera picture, tone and risk checks with urgent alerts,
how long the transcript is kept, exports), rendered from the retention setting, plainly titled."""

from __future__ import annotations

from dataclasses import replace

from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.session.consent import COUNSELOR_CONSENT, client_consent
from server.settings import Settings
from tests.conftest import AppHarness


def test_the_client_text_says_what_is_analysed_alerted_kept_and_exported() -> None:
    consent = client_consent(90)
    text = consent.text
    assert "camera picture" in text and "server" in text  # the picture goes to the server for analysis
    assert "tone" in text and "risk" in text and "alerts your counselor" in text
    assert "kept for 90 days" in text and "deleted automatically" in text
    assert "export" in text
    assert "No audio or video is recorded or kept" in text
    assert "captions and cues" in consent.title and "notes" not in consent.title.lower()
    # Plain paragraphs (the dialog keeps them apart), none of them long.
    paragraphs = text.split("\n\n")
    assert len(paragraphs) >= 4 and all(len(p) < 450 for p in paragraphs)


def test_the_retention_setting_is_in_the_text_and_its_version() -> None:
    forever, week, half_day, one = client_consent(0), client_consent(7), client_consent(0.5), client_consent(1)
    assert "kept until your counselor deletes it" in forever.text and "deleted automatically" not in forever.text
    assert "kept for 7 days" in week.text
    assert "kept for 12 hours" in half_day.text
    assert "kept for 1 day," in one.text
    # The recorded version names the text exactly: another retention setting is another text.
    versions = {c.version for c in (forever, week, half_day, one, client_consent(90))}
    assert len(versions) == 5
    assert all(v.startswith("2026-12-01") for v in versions)  # bumped from the text without these facts
    assert COUNSELOR_CONSENT.version != forever.version


async def test_the_welcome_carries_the_text_for_the_servers_retention(settings: Settings) -> None:
    app = create_app(replace(settings, retention_days=14))
    async with TestServer(app) as server, TestClient(server) as http:
        harness = AppHarness(http)
        s = await harness.new_session()
        client, welcome = await harness.join(s["invite_token"], "Sam")
        assert "kept for 14 days" in welcome["consent"]["text"]
        assert welcome["consent"]["version"] == client_consent(14).version
        # Agreeing to that version is accepted; an older one is refused.
        await client.send(type="consent", granted=True, version=client_consent(14).version)
        assert (await client.expect("consent_recorded"))["state"] == "granted"
        await client.send(type="consent", granted=True, version=client_consent(90).version)
        assert (await client.expect("error"))["code"] == "bad_message"
        await client.close()
