"""Table tests of the pure session engine: every transition the kiosk relies on."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.config import parse_config_text
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.context import Context, StaticInfo
from kiosk.flow.engine import step
from kiosk.flow.states import State

CFG = parse_config_text(
    """
session: {retries: 1, lockout_after_failures: 2, lockout_s: 60, timeout_s: 120, result_display_s: 5}
consent: {timeout_s: 20}
document: {timeout_s: 30}
face: {capture: {hold_still_s: 0.5, timeout_s: 10}}
liveness: {challenge_timeout_s: 5, count: 2}
"""
)


def run(events: list[tuple[float, Any]], state: State = State.ATTRACT, ctx: Context | None = None):
    ctx = ctx or Context(static=StaticInfo(kiosk_id="k1", config_sha256="c" * 64))
    effects: list[fx.Effect] = []
    states = [state]
    for now, e in events:
        tr = step(state, ctx, e, now, CFG)
        state, ctx = tr.state, tr.ctx
        effects.extend(tr.effects)
        states.append(state)
    return state, ctx, effects, states


START = ev.StartPressed("s1", 42)


def to_face_capture(t0: float = 0.0) -> list[tuple[float, Any]]:
    return [
        (t0, START),
        (t0 + 1, ev.ConsentAnswered(True)),
        (t0 + 2, ev.DocumentAccepted({"box": [1, 2, 3, 4], "rectified": False})),
    ]


def good_face(t: float) -> ev.FaceSeen:
    return ev.FaceSeen(timestamp_s=t, face_count=1, gates_ok=True)


def records(effects: list[fx.Effect]) -> list[dict[str, Any]]:
    return [e.record for e in effects if isinstance(e, fx.WriteRecord)]


def test_happy_path_to_approved_and_back_to_attract() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.6, good_face(3.6)),
        (3.7, ev.MatchResult("capture", 3.6, 0.31, 0.5, True)),
        (4.0, ev.LivenessUpdate(4.0, "active", challenge="blink", embed_request=True)),
        (4.5, ev.MatchResult("reembed", 4.0, 0.33, 0.5, True)),
        (
            6.0,
            ev.LivenessUpdate(6.0, "passed", detail={"challenges": [{"name": "blink", "outcome": "done"}]}),
        ),
        (12.0, ev.Tick()),
    ]
    state, ctx, effects, states = run(evs)
    assert states[1:8] == [
        State.CONSENT,
        State.DOCUMENT,
        State.FACE_CAPTURE,
        State.FACE_CAPTURE,
        State.MATCHING,
        State.CHALLENGES,
        State.CHALLENGES,
    ]
    assert State.RESULT in states and state is State.ATTRACT
    (rec,) = records(effects)
    assert rec["decision"] == "approved" and rec["reasons"] == []
    assert rec["match"]["threshold"] == 0.5 and rec["match"]["fmr_target"] == 1e-3
    assert rec["match"]["samples"][0]["matched"] is True
    assert rec["config_sha256"] == "c" * 64 and rec["session_id"] == "s1"
    assert any(isinstance(e, fx.EmbedLiveFace) and e.purpose == "reembed" for e in effects)
    assert any(isinstance(e, fx.EndSession) for e in effects)
    assert ctx.session_id is None  # nothing of the session is kept in the context


@pytest.mark.parametrize(
    ("events", "reason", "decision"),
    [
        ([(0, START), (25, ev.Tick())], "consent_timeout", "aborted"),
        ([(0, START), (1, ev.ConsentAnswered(False))], "consent_declined", "aborted"),
        ([(0, START), (1, ev.ConsentAnswered(True)), (40, ev.Tick())], "document_timeout", "aborted"),
        (
            [(0, START), (1, ev.ConsentAnswered(True)), (2, ev.CancelPressed())],
            "cancelled_by_applicant",
            "aborted",
        ),
        ([*to_face_capture(), (3, ev.CameraLost())], "camera_lost", "aborted"),
        ([*to_face_capture(), (200, ev.Tick())], "session_timeout", "aborted"),
    ],
)
def test_timeouts_and_aborts(events: list[tuple[float, Any]], reason: str, decision: str) -> None:
    state, _ctx, effects, _ = run(events)
    (rec,) = records(effects)
    assert state is State.RESULT
    assert rec["decision"] == decision
    assert reason in rec["reasons"]


def test_face_capture_timeout_retries_once_then_rejects() -> None:
    evs = [*to_face_capture(), (13.0, ev.Tick())]
    state, ctx, effects, _ = run(evs)
    assert state is State.FACE_CAPTURE and ctx.retries_left == 0 and ctx.hint == "face_capture_timeout"
    state, ctx, effects2, _ = run([(24.0, ev.Tick())], state, ctx)
    assert state is State.RESULT
    assert records(effects2)[0]["decision"] == "rejected"
    assert records(effects2)[0]["reasons"] == ["face_capture_timeout", "face_capture_timeout"]


def test_mismatch_retries_then_rejects() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.6, good_face(3.6)),
        (3.7, ev.MatchResult("capture", 3.6, 0.9, 0.5, False)),
    ]
    state, ctx, _, _ = run(evs)
    assert state is State.FACE_CAPTURE and ctx.hint == "face_mismatch"
    more = [
        (4.0, good_face(4.0)),
        (4.6, good_face(4.6)),
        (4.7, ev.MatchResult("capture", 4.6, 0.8, 0.5, False)),
    ]
    state, ctx, effects, _ = run(more, state, ctx)
    assert state is State.RESULT and records(effects)[0]["decision"] == "rejected"


def test_second_face_resets_the_hold_and_warns() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.3, ev.FaceSeen(3.3, face_count=2, gates_ok=False)),
        (3.6, good_face(3.6)),
    ]
    state, ctx, _, _ = run(evs)
    assert state is State.FACE_CAPTURE  # the hold restarted at 3.6
    assert ctx.gates_ok_since == 3.6


def test_face_lost_during_capture_restarts_the_hold() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.3, ev.FaceSeen(3.3, 0, False, hint="face_not_found")),
    ]
    state, ctx, _, _ = run(evs)
    assert state is State.FACE_CAPTURE and ctx.gates_ok_since is None and ctx.hint == "face_not_found"


@pytest.mark.parametrize("reason", ["second_face", "face_lost", "static_photo", "identity_mismatch"])
def test_liveness_failures_reject_without_retry(reason: str) -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.6, good_face(3.6)),
        (3.7, ev.MatchResult("capture", 3.6, 0.3, 0.5, True)),
        (5.0, ev.LivenessUpdate(5.0, "failed", reason=reason)),
    ]
    state, _, effects, _ = run(evs)
    assert state is State.RESULT
    rec = records(effects)[0]
    assert rec["decision"] == "rejected" and rec["reasons"] == [reason]


def test_challenge_timeout_gets_one_retry_with_new_challenges() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.6, good_face(3.6)),
        (3.7, ev.MatchResult("capture", 3.6, 0.3, 0.5, True)),
        (9.0, ev.LivenessUpdate(9.0, "failed", reason="challenge_timeout")),
    ]
    state, ctx, effects, _ = run(evs)
    assert state is State.CHALLENGES
    seeds = [e.seed for e in effects if isinstance(e, fx.StartLiveness)]
    assert len(seeds) == 2 and seeds[0] != seeds[1]


def test_lockout_after_repeated_rejections() -> None:
    state, ctx = State.ATTRACT, Context()
    now = 0.0
    for i in range(2):
        evs = [(now, ev.StartPressed(f"s{i}", i)), (now + 1, ev.ConsentAnswered(True))]
        evs += [(now + 2, ev.DocumentRefused("no_face", "x")), (now + 3, ev.DocumentRefused("no_face", "x"))]
        state, ctx, effects, _ = run(evs, state, ctx)
        assert state is State.RESULT and records(effects)[0]["decision"] == "rejected"
        state, ctx, _, _ = run([(now + 10, ev.Tick())], state, ctx)
        now += 20
    assert state is State.LOCKED
    state, ctx, _, _ = run([(now, ev.StartPressed("s9", 9))], state, ctx)
    assert state is State.LOCKED
    state, ctx, _, _ = run([(now + 61, ev.Tick())], state, ctx)
    assert state is State.ATTRACT and ctx.consecutive_rejections == 0


def test_camera_lost_in_attract_refuses_start_until_back() -> None:
    state, ctx, _, _ = run([(0, ev.CameraLost()), (1, START)])
    assert state is State.ATTRACT and ctx.hint == "camera_unavailable"
    state, ctx, _, _ = run([(2, ev.CameraBack()), (3, START)], state, ctx)
    assert state is State.CONSENT


def test_fault_leads_to_failsafe_with_aborted_record_then_attract() -> None:
    state, ctx, effects, _ = run([*to_face_capture(), (3, ev.Fault("worker_crashed", "boom"))])
    assert state is State.FAILSAFE
    rec = records(effects)[0]
    assert rec["decision"] == "aborted" and "worker_crashed" in rec["reasons"]
    state, ctx, _, _ = run([(3 + CFG.session.failsafe_display_s, ev.Tick())], state, ctx)
    assert state is State.ATTRACT


def test_engine_bug_goes_to_failsafe_not_a_crash() -> None:
    class Broken:
        pass

    state, _, _, _ = run([(0, START), (1, Broken())])  # type: ignore[list-item]
    assert state is State.CONSENT  # an unknown event is ignored...
    ctx = Context(session_id="s", session_started=0.0, state_since=0.0)
    tr = step(State.FACE_CAPTURE, ctx, ev.FaceSeen(1.0, 1, True), 1.0, object())  # ...a broken config is not
    assert tr.state is State.FAILSAFE and tr.ctx.fault and tr.ctx.fault.startswith("engine_error")


def test_disk_full_keeps_kiosk_out_of_service() -> None:
    state, ctx, _, _ = run([(0, ev.ServiceCheck(False, "disk_full")), (1, START)])
    assert state is State.OUT_OF_SERVICE
    state, ctx, _, _ = run([(2, ev.ServiceCheck(True))], state, ctx)
    assert state is State.ATTRACT


def test_step_is_pure() -> None:
    ctx = Context()
    a = step(State.ATTRACT, ctx, START, 1.0, CFG)
    b = step(State.ATTRACT, ctx, START, 1.0, CFG)
    assert a == b and ctx == Context()


def test_unembeddable_sample_is_retried_not_counted_as_a_mismatch() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.6, good_face(3.6)),
        (3.7, ev.MatchResult("capture", 3.6, 0.3, 0.5, True)),
        (4.0, ev.LivenessUpdate(4.0, "active", challenge="smile", embed_request=True)),
        (4.1, ev.MatchFailed("reembed", "no_single_face", "x", 4.0)),
    ]
    state, _ctx, effects, _ = run(evs)
    assert state is State.CHALLENGES
    assert fx.RetryMatchSample(4.0) in effects
    assert not any(isinstance(e, fx.ForwardMatchSample) for e in effects)


def test_reembed_mismatch_is_forwarded_to_the_liveness_session() -> None:
    evs = [
        *to_face_capture(),
        (3.0, good_face(3.0)),
        (3.6, good_face(3.6)),
        (3.7, ev.MatchResult("capture", 3.6, 0.3, 0.5, True)),
        (4.1, ev.MatchResult("reembed", 4.0, 0.9, 0.5, False)),
    ]
    _state, ctx, effects, _ = run(evs)
    assert fx.ForwardMatchSample(4.0, False, 0.9) in effects
    assert ctx.match is not None and ctx.match["samples"][-1]["matched"] is False
