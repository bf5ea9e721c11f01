"""A hostile client tries every way it has to receive counselor-only events, and gets none."""

from __future__ import annotations

import json
import secrets

from tests.conftest import AppHarness, WsPeer


def counselor_only(messages: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in messages if m.get("type") == "counselor" or "event" in m]


async def test_hostile_client_never_receives_counselor_events(harness: AppHarness) -> None:
    s, counselor, cw, hostile, hw = await harness.admitted_pair()
    sockets: list[WsPeer] = [hostile]

    # 1. Ask for the channel.
    await hostile.send(type="subscribe", channel="counselor")
    assert (await hostile.expect("error"))["code"] == "forbidden"
    # 2. Claim the role in join (refused by the schema), on a fresh socket.
    forged = await harness.connect()
    sockets.append(forged)
    await forged.send(type="join", token=s["invite_token"], name="Sam", role="counselor")
    assert (await forged.expect("error"))["code"] == "bad_message"
    await forged.send(type="join", token=s["invite_token"], name="Sam", resume_key=cw["resume_key"][:-2] + "xx")
    forged_welcome = await forged.expect("welcome")
    assert forged_welcome["you"]["role"] == "client"  # a wrong resume key is just a new waiting client
    # 3. Replay counselor tokens it does not have: guesses, the invite token, truncations.
    for guess in (secrets.token_urlsafe(32), s["invite_token"] + "A", s["counselor_token"][:-1] + "?"):
        peer = await harness.connect()
        sockets.append(peer)
        await peer.send(type="join", token=guess, name="Eve")
        assert (await peer.expect("error"))["code"] == "bad_token"
    page = await harness.client.get(f"/host/{s['invite_token']}")
    assert page.status == 404
    # 4. Counselor-only actions.
    await hostile.send(type="admit", participant_id=forged_welcome["you"]["participant_id"])
    assert (await hostile.expect("error"))["code"] == "forbidden"
    await hostile.send(type="end_session")
    assert (await hostile.expect("error"))["code"] == "forbidden"
    await hostile.ws.send_str('{"type": "counselor", "event": {"kind": "lobby"}}')
    assert (await hostile.expect("error"))["code"] == "unknown_type"

    # Meanwhile the counselor channel is busy: a newcomer waits, consent changes, the newcomer is admitted.
    newcomer, nw = await harness.join(s["invite_token"], "Jordan")
    await newcomer.send(type="consent", granted=True, version=nw["consent"]["version"])
    await counselor.send(type="admit", participant_id=nw["you"]["participant_id"])
    await hostile.send(type="consent", granted=True, version=hw["consent"]["version"])
    await hostile.send(type="consent", granted=False, version=hw["consent"]["version"])
    await counselor.expect("counselor", lambda m: m["event"]["kind"] == "lobby" and m["event"]["waiting"])
    await counselor.expect(
        "counselor",
        lambda m: m["event"]["kind"] == "consent_state"
        and any(p["consent"] == "withdrawn" for p in m["event"]["participants"]),
    )
    await hostile.expect("roster", lambda m: len(m["participants"]) == 3)

    for peer in sockets:
        await peer.drain(0.5)
        assert counselor_only(peer.inbox) == [], peer.inbox
    # The channel really carried events during the attack.
    assert len(counselor_only(counselor.inbox)) >= 4


async def test_crisis_alert_reaches_the_counselor_and_never_the_client(harness: AppHarness) -> None:
    from analysis.events import CaptionFinal
    from server.live.engine import LIVE
    from server.records.context import RECORDS
    from server.session.registry import SESSIONS

    s, counselor, _, client, clw = await harness.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    live = harness.app[LIVE]
    session = harness.app[SESSIONS].sessions[s["session_id"]]
    participant = session.participants[clw["you"]["participant_id"]]
    # A final line as the caption engine would deliver it, through the same routing as live speech.
    said = "Honestly I want to end it all, everyone would be better off without me."
    line = CaptionFinal("s/p", 1, said, 10.0, 14.0, 14.5)
    await live._route_caption(session, participant, line)
    alert = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "alert", timeout=5)
    assert alert["event"]["cue"]["severity"] == "urgent" and "end it all" in alert["event"]["cue"]["sentence"]
    marked = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "transcript_line")
    assert marked["event"]["risk"] == "urgent"
    # Muting the kind does not hold back the next urgent alert.
    await counselor.send(type="cue_mute", kind="words.risk", muted=True)
    await counselor.expect("counselor", lambda m: m["event"]["kind"] == "muted_kinds")
    again = CaptionFinal("s/p", 2, "I am going to take all my pills tonight.", 20.0, 24.0, 24.5)
    await live._route_caption(session, participant, again)
    second = await counselor.expect(
        "counselor", lambda m: m["event"]["kind"] == "alert" and "pills" in m["event"]["cue"]["sentence"], timeout=5
    )
    assert second["event"]["cue"]["severity"] == "urgent"

    await client.drain(0.5)
    assert counselor_only(client.inbox) == []
    # The client sees the caption itself (it is their own speech), never the alert about it.
    assert any(m.get("type") == "caption" for m in client.inbox)
    # (The consent text the client read says that such alerts exist; no message carries one.)
    assert not any("alert" in json.dumps(m) for m in client.inbox if m.get("type") != "welcome")
    assert not any("alert" in json.dumps({**m, "consent": None}) for m in client.inbox if m.get("type") == "welcome")
    stored = await harness.app[RECORDS].cues(s["session_id"])
    assert [c.severity for c in stored].count("urgent") == 2
