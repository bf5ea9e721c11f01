"""Admission to live captions, with a fake pool load and a fake clock: shedding at capacity and when behind,
re-admission once there is room (oldest first, after the pool has been calm for a while, one at a time
where load counts), new sessions not going before waiting ones, ended sessions forgotten."""

from __future__ import annotations

from dataclasses import dataclass

from server.live.admission import AdmissionSettings, CaptionAdmission


@dataclass
class FakeSession:
    id: str
    ended: bool = False


class FakeLoad:
    def __init__(self) -> None:
        self.behind = False
        self.asked_at: list[float] = []

    def saturated(self, now: float) -> bool:
        self.asked_at.append(now)
        return self.behind


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(capacity: int = 2, calm_s: float = 5.0, shed_when_behind: bool = True, floor: int = 2) -> tuple[
    CaptionAdmission[FakeSession], FakeLoad, FakeClock
]:
    load, clock = FakeLoad(), FakeClock()
    settings = AdmissionSettings(capacity=capacity, shed_when_behind=shed_when_behind, floor_sessions=floor,
                                 calm_s=calm_s)
    return CaptionAdmission(settings, load, clock), load, clock


def ids(admission: CaptionAdmission[FakeSession]) -> list[str]:
    return [r.session.id for r in admission.readmit()]


def test_a_session_beyond_capacity_is_shed_and_gets_captions_when_one_ends() -> None:
    admission, _load, clock = make(capacity=1)
    a, b = FakeSession("a"), FakeSession("b")
    assert admission.admit(a) is None
    assert admission.admit(b) == "capacity"
    assert admission.admit(b) == "capacity"  # a second uplink of the same session: the same answer, counted once
    assert admission.shed_total == 1
    clock.t += 30
    assert ids(admission) == []  # still full
    a.ended = True
    clock.t += 1
    # One captioned session left is below the floor where load counts: no calm period to wait for.
    readmitted = admission.readmit()
    assert [r.session.id for r in readmitted] == ["b"]
    assert readmitted[0].reason == "capacity" and readmitted[0].waited_s == 31
    assert admission.has_captions("b") and admission.waiting == [] and admission.readmitted_total == 1
    assert admission.admit(b) is None  # its later uplinks are captioned


def test_shed_sessions_get_captions_oldest_first_and_a_new_session_waits_behind_them() -> None:
    admission, _load, clock = make(capacity=2, shed_when_behind=False)
    a, b, c, d, e = (FakeSession(x) for x in "abcde")
    assert admission.admit(a) is None and admission.admit(b) is None
    assert [admission.admit(s) for s in (c, d)] == ["capacity", "capacity"]
    a.ended = True
    # A new session arriving now does not take the room c has waited for.
    assert admission.admit(e) == "capacity"
    assert ids(admission) == ["c"]
    b.ended = True
    clock.t += 1
    assert ids(admission) == ["d"]
    c.ended = True
    assert ids(admission) == ["e"]
    assert admission.readmitted_total == 3 and admission.shed_total == 3


def test_a_new_session_is_admitted_at_once_when_nobody_waits() -> None:
    admission, _load, _clock = make(capacity=2)
    a, b = FakeSession("a"), FakeSession("b")
    assert admission.admit(a) is None
    a.ended = True
    assert admission.admit(b) is None and admission.captioned == 1


def test_a_session_shed_while_the_pool_is_behind_waits_until_it_has_been_calm_for_a_while() -> None:
    admission, load, clock = make(capacity=5, calm_s=5.0)
    a, b, c = FakeSession("a"), FakeSession("b"), FakeSession("c")
    assert admission.admit(a) is None and admission.admit(b) is None
    load.behind = True
    assert admission.admit(c) == "overloaded"
    for _ in range(3):  # behind: no room however long it lasts
        clock.t += 1
        assert ids(admission) == []
    load.behind = False
    clock.t += 1
    assert ids(admission) == []  # calm for 0 s: a pool that has just caught up often falls behind again
    clock.t += 4
    assert ids(admission) == []  # 4 s
    load.behind = True  # behind again for a moment: the calm period starts over
    clock.t += 1
    assert ids(admission) == []
    load.behind = False
    for _ in range(10):
        clock.t += 1
        admitted = ids(admission)
        if admitted:
            break
    assert admitted == ["c"]
    # 5 s after the first calm reading that followed the last one behind
    assert clock.t - 100.0 == 3 + 1 + 4 + 1 + 1 + 5


def test_where_load_counts_shed_sessions_come_back_one_calm_period_apart() -> None:
    admission, load, clock = make(capacity=10, calm_s=5.0)
    sessions = [FakeSession(f"s{i}") for i in range(5)]
    for s in sessions[:2]:
        assert admission.admit(s) is None
    load.behind = True
    assert [admission.admit(s) for s in sessions[2:]] == ["overloaded"] * 3
    load.behind = False
    admitted_at: dict[str, float] = {}
    for _ in range(30):
        clock.t += 1
        for sid in ids(admission):
            admitted_at[sid] = clock.t
    assert list(admitted_at) == ["s2", "s3", "s4"]
    times = list(admitted_at.values())
    # each one's load shows before the next comes in
    assert times[1] - times[0] >= 5 and times[2] - times[1] >= 5


def test_below_the_floor_a_behind_pool_does_not_keep_a_session_out() -> None:
    admission, load, _clock = make(capacity=3, floor=2)
    a, b = FakeSession("a"), FakeSession("b")
    load.behind = True
    assert admission.admit(a) is None  # a lone session that lags says more about the machine
    assert admission.admit(b) is None  # still below the floor: one captioned
    assert admission.admit(FakeSession("c")) == "overloaded"  # two captioned and behind


def test_with_shedding_by_capacity_only_the_pool_s_load_never_holds_a_session_back() -> None:
    admission, load, _clock = make(capacity=1, shed_when_behind=False)
    load.behind = True
    a, b = FakeSession("a"), FakeSession("b")
    assert admission.admit(a) is None
    assert admission.admit(b) == "capacity"
    a.ended = True
    assert ids(admission) == ["b"]  # at once, behind or not


def test_ended_sessions_are_forgotten_whether_captioned_or_waiting() -> None:
    admission, _load, _clock = make(capacity=1)
    a, b, c = FakeSession("a"), FakeSession("b"), FakeSession("c")
    admission.admit(a)
    admission.admit(b)
    admission.admit(c)
    b.ended = True  # left while waiting: never given captions, and not in c's way
    assert [s.id for s in admission.waiting] == ["c"]
    a.ended = True
    assert ids(admission) == ["c"] and admission.readmitted_total == 1
    assert admission.captioned == 1
