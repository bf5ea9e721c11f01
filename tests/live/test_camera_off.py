"""The live session's video cues and the client's Stop camera: while ``media_state`` says the camera is off,
nothing is analysed (the black frames a stopped camera sends are not a face out of view), and nothing that
was building up before carries over when it comes back. Real GRID frames through the real face mesh."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np

from server.live.cues import SessionCues
from server.session.model import Session
from server.session.participant import Participant, digest
from server.session.protocol.counselor import CameraState
from server.session.states import Presence, Role

CLIP = Path(__file__).resolve().parents[1] / "data" / "grid_av_faces" / "bbaf2n.mpg"
FPS = 5


def face_frames() -> list[np.ndarray]:
    with av.open(str(CLIP)) as container:
        frames = [f.to_ndarray(format="rgb24", width=320, height=256) for f in container.decode(video=0)]
    return frames[:: 25 // FPS]


async def test_stop_camera_pauses_the_face_cues() -> None:
    session = Session("s1", digest("c"), digest("i"), 1e12, 6)
    client = Participant("p-sam", Role.CLIENT, "Sam", b"", Presence.ADMITTED)
    session.participants[client.id] = client
    raised: list[str] = []
    with ThreadPoolExecutor(1) as cue_thread, ThreadPoolExecutor(1) as video_thread:
        cues = SessionCues(session, cue_thread, video_thread, on_cue=lambda _, cue, _line: raised.append(cue.kind))
        faces, black = face_frames(), np.zeros((256, 320, 3), np.uint8)
        t = 0.0

        async def show(frames: list[np.ndarray]) -> None:
            nonlocal t
            for frame in frames:
                await asyncio.get_running_loop().run_in_executor(video_thread, cues.video, client, frame, t)
                t += 1 / FPS
            await asyncio.sleep(0.05)  # let the cue deliveries reach the event loop

        await show(faces)  # 3 s of Sam
        # Sam presses Stop camera: the track sends black frames for 10 s; none is analysed, no cue.
        client.video = False
        analysed = cues.frames_analysed
        await show([black] * 10 * FPS)
        assert cues.frames_analysed == analysed and cues.frames_camera_off == 10 * FPS
        assert raised == []
        # Camera on again, Sam in view: analysed again, still no cue.
        client.video = True
        await show(faces)
        assert cues.frames_analysed > analysed and raised == []
        # A missing face building up for 2.4 s, the camera off and on, then 1 s more without a face: the hold
        # starts afresh at the camera's return, so this is no cue either ...
        await show([black] * 12)
        client.video = False
        await show([black] * 10)
        client.video = True
        await show([black] * FPS)
        assert raised == []
        # ... while a face really gone for 3 s with the camera on is.
        await show([black] * 3 * FPS)
        assert raised == ["video.face_absent"]
        cues.close()


def test_the_counselor_event_for_it_is_typed() -> None:
    event = CameraState(participant_id="p-sam", camera_on=False)
    assert event.model_dump() == {"kind": "camera_state", "participant_id": "p-sam", "camera_on": False}
