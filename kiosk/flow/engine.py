"""The pure transition function of the kiosk session.

``step(state, ctx, event, now, cfg)`` returns a :class:`Transition`; nothing here performs I/O. Times are
seconds on the injected monotonic clock. Any exception inside a handler becomes the FAILSAFE state, so
an engine bug can never leave the kiosk stuck on a half-drawn screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.context import Context
from kiosk.flow.states import SESSION_STATES, Decision, State

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transition:
    state: State
    ctx: Context
    effects: tuple[fx.Effect, ...] = field(default_factory=tuple)


def _enter(state: State, ctx: Context, now: float, *effects: fx.Effect, **changes: Any) -> Transition:
    return Transition(state, ctx.evolve(state_since=now, **changes), tuple(effects))


def _stay(state: State, ctx: Context, *effects: fx.Effect, **changes: Any) -> Transition:
    return Transition(state, ctx.evolve(**changes) if changes else ctx, tuple(effects))


def build_record(ctx: Context, decision: Decision, reasons: tuple[str, ...], now: float) -> dict[str, Any]:
    """The decision record: no images, no templates; scores, thresholds, outcomes and timings only."""
    timings = dict(ctx.timings)
    if ctx.session_started is not None:
        timings["session_s"] = round(now - ctx.session_started, 3)
    return {
        "session_id": ctx.session_id,
        "kiosk_id": ctx.static.kiosk_id,
        "decision": decision.value,
        "reasons": list(reasons),
        "seed": ctx.seed,
        "document": ctx.document,
        "match": ctx.match,
        "liveness": ctx.liveness or None,
        "timings": timings,
        "models": dict(ctx.static.model_sha256),
        "config_sha256": ctx.static.config_sha256,
        "app_version": ctx.static.app_version,
    }


def _finish(ctx: Context, decision: Decision, reasons: tuple[str, ...], now: float, cfg: Any) -> Transition:
    """End the session: record it, update the lockout counter and show the result."""
    rejections = ctx.consecutive_rejections
    lockout_until = ctx.lockout_until
    if decision is Decision.REJECTED:
        rejections += 1
        if rejections >= cfg.session.lockout_after_failures and cfg.session.lockout_s > 0:
            lockout_until = now + cfg.session.lockout_s
    elif decision is Decision.APPROVED:
        rejections = 0
    record = build_record(ctx, decision, reasons, now)
    effects: list[fx.Effect] = [fx.WriteRecord(record)]
    if ctx.session_id is not None:
        effects.append(fx.EndSession(ctx.session_id))
    return _enter(
        State.RESULT,
        ctx,
        now,
        *effects,
        decision=decision.value,
        reasons=reasons,
        consecutive_rejections=rejections,
        lockout_until=lockout_until,
        challenge=None,
        hint=None,
    )


def _to_attract(ctx: Context, now: float) -> Transition:
    return _enter(State.ATTRACT, ctx.fresh_session(), now)


def _retry_or_reject(
    ctx: Context, reason: str, now: float, cfg: Any, retry_state: State, *effects: fx.Effect
) -> Transition:
    if ctx.retries_left > 0:
        return _enter(
            retry_state,
            ctx,
            now,
            *effects,
            retries_left=ctx.retries_left - 1,
            attempts=ctx.attempts + 1,
            gates_ok_since=None,
            hint=reason,
            reasons=(*ctx.reasons, reason),
        )
    return _finish(ctx, Decision.REJECTED, (*ctx.reasons, reason), now, cfg)


def step(state: State, ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    """Advance the kiosk by one event. Pure: same inputs, same outputs."""
    try:
        return _step(state, ctx, event, now, cfg)
    except Exception as exc:  # the failsafe exists for exactly this
        log.exception("engine error in state %s on %s", state.value, type(event).__name__)
        return _failsafe(ctx, f"engine_error:{type(exc).__name__}", now, cfg)


def _failsafe(ctx: Context, code: str, now: float, cfg: Any) -> Transition:
    effects: list[fx.Effect] = []
    if ctx.session_id is not None and ctx.decision is None:
        effects.append(fx.WriteRecord(build_record(ctx, Decision.ABORTED, (*ctx.reasons, code), now)))
        effects.append(fx.EndSession(ctx.session_id))
    return _enter(State.FAILSAFE, ctx.fresh_session(), now, *effects, fault=code)


def _step(state: State, ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    # Kiosk-wide events first.
    if isinstance(event, ev.Fault):
        return _failsafe(ctx, event.code, now, cfg)
    if isinstance(event, ev.CameraLost):
        ctx = ctx.evolve(camera_ok=False)
        if state in SESSION_STATES:
            return _finish(ctx, Decision.ABORTED, (*ctx.reasons, "camera_lost"), now, cfg)
        return _stay(state, ctx)
    if isinstance(event, ev.CameraBack):
        return _stay(state, ctx, camera_ok=True)
    if isinstance(event, ev.ServiceCheck):
        ctx = ctx.evolve(service_ok=event.ok, service_reason=event.reason)
        if not event.ok and state is State.ATTRACT:
            return _enter(State.OUT_OF_SERVICE, ctx, now)
        if event.ok and state is State.OUT_OF_SERVICE:
            return _enter(State.ATTRACT, ctx, now)
        return _stay(state, ctx)

    if state in SESSION_STATES:
        if ctx.session_started is not None and now - ctx.session_started > cfg.session.timeout_s:
            return _finish(ctx, Decision.ABORTED, (*ctx.reasons, "session_timeout"), now, cfg)
        if isinstance(event, ev.CancelPressed):
            return _finish(ctx, Decision.ABORTED, (*ctx.reasons, "cancelled_by_applicant"), now, cfg)

    handler = _HANDLERS[state]
    return handler(ctx, event, now, cfg)


def _attract(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if ctx.lockout_until is not None and now < ctx.lockout_until:
        return _enter(State.LOCKED, ctx, now)
    if isinstance(event, ev.StartPressed):
        if not ctx.camera_ok:
            return _stay(State.ATTRACT, ctx, hint="camera_unavailable")
        if not ctx.service_ok:
            return _enter(State.OUT_OF_SERVICE, ctx, now)
        session = ctx.fresh_session().evolve(
            session_id=event.session_id,
            seed=event.seed,
            session_started=now,
            retries_left=cfg.session.retries,
        )
        begin = fx.BeginSession(event.session_id, event.seed)
        if cfg.consent.required:
            return _enter(State.CONSENT, session, now, begin)
        return _enter(State.DOCUMENT, session, now, begin, fx.StartDocument())
    return _stay(State.ATTRACT, ctx)


def _consent(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if isinstance(event, ev.ConsentAnswered):
        if event.accepted:
            return _enter(
                State.DOCUMENT, ctx, now, fx.StartDocument(), timings={"consent_s": now - ctx.state_since}
            )
        return _finish(ctx, Decision.ABORTED, ("consent_declined",), now, cfg)
    if now - ctx.state_since > cfg.consent.timeout_s:
        return _finish(ctx, Decision.ABORTED, ("consent_timeout",), now, cfg)
    return _stay(State.CONSENT, ctx)


def _timing(ctx: Context, name: str, now: float) -> dict[str, float]:
    t = dict(ctx.timings)
    t[name] = round(now - ctx.state_since, 3)
    return t


def _document(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if isinstance(event, ev.DocumentAccepted):
        return _enter(
            State.FACE_CAPTURE,
            ctx,
            now,
            fx.StartFaceCapture(),
            document=dict(event.info),
            timings=_timing(ctx, "document_s", now),
            gates_ok_since=None,
            hint=None,
        )
    if isinstance(event, ev.DocumentRefused):
        return _retry_or_reject(
            ctx.evolve(document={"refused": event.code}),
            f"document_{event.code}",
            now,
            cfg,
            State.DOCUMENT,
            fx.StartDocument(),
        )
    if now - ctx.state_since > cfg.document.timeout_s:
        return _finish(ctx, Decision.ABORTED, (*ctx.reasons, "document_timeout"), now, cfg)
    return _stay(State.DOCUMENT, ctx)


def _face_capture(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    gates = cfg.face.capture
    if isinstance(event, ev.FaceSeen):
        if event.face_count > 1:
            return _stay(State.FACE_CAPTURE, ctx, gates_ok_since=None, hint="one_person_only")
        if not event.gates_ok:
            return _stay(State.FACE_CAPTURE, ctx, gates_ok_since=None, hint=event.hint or "look_at_camera")
        since = ctx.gates_ok_since if ctx.gates_ok_since is not None else event.timestamp_s
        if event.timestamp_s - since >= gates.hold_still_s:
            return _enter(
                State.MATCHING,
                ctx,
                now,
                fx.EmbedLiveFace("capture", event.timestamp_s),
                gates_ok_since=None,
                hint=None,
                timings=_timing(ctx, "face_capture_s", now),
            )
        return _stay(State.FACE_CAPTURE, ctx, gates_ok_since=since, hint="hold_still")
    if now - ctx.state_since > gates.timeout_s:
        return _retry_or_reject(
            ctx, "face_capture_timeout", now, cfg, State.FACE_CAPTURE, fx.StartFaceCapture()
        )
    return _stay(State.FACE_CAPTURE, ctx)


def _matching(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if isinstance(event, ev.MatchResult) and event.purpose == "capture":
        match = {
            "distance": round(event.distance, 4),
            "threshold": round(event.threshold, 4),
            "fmr_target": cfg.face.match.fmr_target,
            "model": cfg.face.match.model,
            "matched": event.matched,
            "samples": [],
        }
        ctx = ctx.evolve(match=match, timings=_timing(ctx, "match_s", now))
        if event.matched:
            return _enter(State.CHALLENGES, ctx, now, fx.StartLiveness(int(ctx.seed or 0)))
        return _retry_or_reject(ctx, "face_mismatch", now, cfg, State.FACE_CAPTURE, fx.StartFaceCapture())
    if isinstance(event, ev.MatchFailed) and event.purpose == "capture":
        return _retry_or_reject(
            ctx, f"match_{event.code}", now, cfg, State.FACE_CAPTURE, fx.StartFaceCapture()
        )
    if now - ctx.state_since > 30.0:  # a worker that never answers must not hold the kiosk
        return _failsafe(ctx, "match_worker_timeout", now, cfg)
    return _stay(State.MATCHING, ctx)


def _challenges(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if isinstance(event, ev.MatchResult) and event.purpose == "reembed":
        match = dict(ctx.match or {})
        samples = [
            *match.get("samples", []),
            {
                "t": round(event.timestamp_s, 3),
                "distance": round(event.distance, 4),
                "matched": event.matched,
            },
        ]
        match["samples"] = samples
        return _stay(
            State.CHALLENGES,
            ctx,
            fx.ForwardMatchSample(event.timestamp_s, event.matched, event.distance),
            match=match,
        )
    if isinstance(event, ev.MatchFailed) and event.purpose == "reembed":
        # Not a mismatch: that frame had no single usable face. Continuity checks catch a second person;
        # the session asks for another sample, and passes only with enough matched ones.
        t = event.timestamp_s if event.timestamp_s is not None else now
        return _stay(State.CHALLENGES, ctx, fx.RetryMatchSample(t))
    if isinstance(event, ev.LivenessUpdate):
        ctx = ctx.evolve(
            challenge=event.challenge,
            progress=event.progress,
            time_left_s=event.time_left_s,
            hint=event.hint,
            liveness=dict(event.detail) if event.detail else ctx.liveness,
        )
        if event.phase == "passed":
            if not (ctx.match or {}).get("matched"):
                return _finish(ctx, Decision.REJECTED, (*ctx.reasons, "face_mismatch"), now, cfg)
            return _finish(
                ctx.evolve(timings=_timing(ctx, "liveness_s", now)), Decision.APPROVED, (), now, cfg
            )
        if event.phase == "failed":
            reason = event.reason or "liveness_failed"
            if reason == "challenge_timeout" and ctx.retries_left > 0:
                return _enter(
                    State.CHALLENGES,
                    ctx,
                    now,
                    fx.StartLiveness(int(ctx.seed or 0) + ctx.attempts + 1),
                    retries_left=ctx.retries_left - 1,
                    attempts=ctx.attempts + 1,
                    reasons=(*ctx.reasons, reason),
                )
            return _finish(
                ctx.evolve(timings=_timing(ctx, "liveness_s", now)),
                Decision.REJECTED,
                (*ctx.reasons, reason),
                now,
                cfg,
            )
        if event.embed_request:
            return _stay(State.CHALLENGES, ctx, fx.EmbedLiveFace("reembed", event.timestamp_s))
        return _stay(State.CHALLENGES, ctx)
    # The liveness session owns per-challenge timeouts; this bound only catches a stalled pipeline.
    budget = cfg.liveness.challenge_timeout_s * (cfg.liveness.count + 1) + 10.0
    if now - ctx.state_since > budget:
        return _finish(ctx, Decision.REJECTED, (*ctx.reasons, "liveness_stalled"), now, cfg)
    return _stay(State.CHALLENGES, ctx)


def _result(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if now - ctx.state_since >= cfg.session.result_display_s or isinstance(event, ev.StartPressed):
        if ctx.lockout_until is not None and now < ctx.lockout_until:
            return _enter(State.LOCKED, ctx.fresh_session(), now)
        return _to_attract(ctx, now)
    return _stay(State.RESULT, ctx)


def _locked(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if ctx.lockout_until is None or now >= ctx.lockout_until:
        return _enter(State.ATTRACT, ctx, now, lockout_until=None, consecutive_rejections=0)
    return _stay(State.LOCKED, ctx)


def _out_of_service(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    return _stay(State.OUT_OF_SERVICE, ctx)


def _failsafe_state(ctx: Context, event: ev.Event, now: float, cfg: Any) -> Transition:
    if now - ctx.state_since >= cfg.session.failsafe_display_s:
        return _enter(State.ATTRACT, ctx.fresh_session(), now, fault=None)
    return _stay(State.FAILSAFE, ctx)


_HANDLERS = {
    State.ATTRACT: _attract,
    State.CONSENT: _consent,
    State.DOCUMENT: _document,
    State.FACE_CAPTURE: _face_capture,
    State.MATCHING: _matching,
    State.CHALLENGES: _challenges,
    State.RESULT: _result,
    State.LOCKED: _locked,
    State.OUT_OF_SERVICE: _out_of_service,
    State.FAILSAFE: _failsafe_state,
}
