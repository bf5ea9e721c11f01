"""A hostile client tries every way it has to receive counselor-only events, and gets none."""

from __future__ import annotations

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
