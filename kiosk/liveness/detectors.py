"""Pure challenge detectors over a window of per-frame signals.

Every function takes signals (:class:`~kiosk.liveness.signals.FrameSignals`, time-ordered), the
applicant's :class:`~kiosk.liveness.baseline.Baseline` and thresholds from config, and keeps no
state, so the same code serves the live session (a window growing frame by frame) and the offline
timeline of ``ekyc-kiosk analyze``.

Events (``find_*``) use hysteresis: an action starts when its signal crosses the "on" level and
ends when it falls back under the "off" level (half of "on" for levels and angles; the open ratio
for eyes). An action is only found once the signal was seen at rest first, so a window that begins
in the middle of an action does not count it.

Challenges (:func:`detect_challenge`) add the anti-replay rule: after the prompt the relevant signal
must rest (neutral) for ``neutral_hold_s`` before the action counts, so an action already under way
at the prompt, or one recorded ahead, never completes a challenge.

Directions: ``yaw_deg > 0`` means the nose points to the image's right. In a camera image that is
not mirrored that is the applicant's OWN LEFT; ``mirrored=True`` (frames flipped left-right)
swaps it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kiosk.config.liveness import SpoofConfig, Thresholds
from kiosk.liveness.baseline import Baseline
from kiosk.liveness.signals import FrameSignals
from kiosk.liveness.types import Challenge, ChallengeSpec, DetectorResult, Event, Hint, Reason

log = logging.getLogger(__name__)

IMAGE_RIGHT = "nose_to_image_right"
IMAGE_LEFT = "nose_to_image_left"


def image_sign_for(challenge: Challenge, mirrored: bool) -> int:
    """+1 when the challenge's turn shows as the nose moving toward the image's right (yaw > 0)."""
    if challenge is Challenge.TURN_LEFT:
        return -1 if mirrored else 1
    if challenge is Challenge.TURN_RIGHT:
        return 1 if mirrored else -1
    raise ValueError(f"{challenge} is not a turn")


def own_turn_name(image_sign: int, mirrored: bool) -> str:
    """``turn_left``/``turn_right`` (the applicant's own side) for a yaw sign in image terms."""
    left = (image_sign > 0) != mirrored
    return Challenge.TURN_LEFT.value if left else Challenge.TURN_RIGHT.value


# ---------------------------------------------------------------------------------------------
# Runs: hysteresis segments of one scalar signal


@dataclass
class Run:
    """One excursion of a signal: it left rest at ``t_leave`` (crossed "off"), first reached "on" at
    ``t_on`` (None: never), was last at or above "on" at ``t_last_on``, and came back under "off" at
    ``t_return`` (None: still out at the end of the window, whose last frame is ``t_last``)."""

    t_leave: float
    t_last: float
    peak: float
    t_on: float | None = None
    t_last_on: float | None = None
    t_return: float | None = None
    parallax: float | None = None  # largest planar residual among the frames at or above "on"
    ratio: float | None = None  # largest planar residual / deformation among those frames

    @property
    def reached(self) -> bool:
        return self.t_on is not None

    @property
    def held_s(self) -> float:
        if self.t_on is None or self.t_last_on is None:
            return 0.0
        return self.t_last_on - self.t_on


Sample = tuple[float, float, FrameSignals]  # (t_s, value, signals)


def runs(samples: Sequence[Sample], on: float, off: float) -> list[Run]:
    """Excursions of ``value`` above ``off`` that start after the value was seen below ``off``."""
    out: list[Run] = []
    armed = False
    cur: Run | None = None
    for t, v, s in samples:
        if cur is None:
            if v < off:
                armed = True
            elif armed:
                cur = Run(t_leave=t, t_last=t, peak=v)
        if cur is not None:
            if v < off:
                cur.t_return = t
                out.append(cur)
                cur = None
                continue
            cur.t_last = t
            cur.peak = max(cur.peak, v)
            if v >= on:
                if cur.t_on is None:
                    cur.t_on = t
                cur.t_last_on = t
                if s.planar_residual is not None and s.deform is not None:
                    cur.parallax = max(cur.parallax or 0.0, s.planar_residual)
                    r = s.planar_residual / max(s.deform, 1e-6)
                    cur.ratio = max(cur.ratio or 0.0, r)
    if cur is not None:
        out.append(cur)
    return out


def _samples(sigs: Sequence[FrameSignals], fn: Callable[[FrameSignals], float | None]) -> list[Sample]:
    out: list[Sample] = []
    for s in sigs:
        if not s.has_face:
            continue
        v = fn(s)
        if v is not None:
            out.append((s.t_s, v, s))
    return out


def _eye_ratio(base: Baseline) -> Callable[[FrameSignals], float | None]:
    open_level = max(base.eye_open, 1e-6)
    return lambda s: None if s.eye_open is None else s.eye_open / open_level


def _rel(name: str, level: float) -> Callable[[FrameSignals], float | None]:
    def f(s: FrameSignals) -> float | None:
        v = getattr(s, name)
        return None if v is None else float(v) - level

    return f


# ---------------------------------------------------------------------------------------------
# Event finders (timeline)


def find_blinks(sigs: Sequence[FrameSignals], base: Baseline, th: Thresholds) -> list[Event]:
    """Eye closures: ``blink`` when the eyes reopen within ``blink_max_closed_s``, otherwise
    ``eyes_closed_long`` (also for a closure still going on at the end that is already too long).

    Closed: ``eye_open`` below ``blink_close_ratio`` of the open level; open again: above
    ``blink_open_ratio``. A closure counts only after the eyes were seen open.
    """
    ratio = _eye_ratio(base)
    # Closure depth as a rising value: 1 - ratio, with "on" at closed and "off" at reopened.
    samples = [(t, 1.0 - v, s) for t, v, s in _samples(sigs, ratio)]
    on = 1.0 - th.blink_close_ratio
    off = 1.0 - th.blink_open_ratio
    events: list[Event] = []
    for r in runs(samples, on, off):
        if not r.reached or r.t_on is None:
            continue
        closed_s = (r.t_return if r.t_return is not None else r.t_last) - r.t_on
        peak = 1.0 - r.peak
        if r.t_return is not None and closed_s <= th.blink_max_closed_s:
            events.append(Event("blink", r.t_on, r.t_return, peak))
        elif closed_s > th.blink_max_closed_s:
            events.append(Event("eyes_closed_long", r.t_on, r.t_return or r.t_last, peak))
    return events


def _level_events(
    sigs: Sequence[FrameSignals], name: str, level: float, on: float, hold_s: float, event: str
) -> list[Event]:
    out = []
    for r in runs(_samples(sigs, _rel(name, level)), on, on / 2.0):
        if r.reached and r.held_s + 1e-9 >= hold_s and r.t_on is not None:
            out.append(Event(event, r.t_on, r.t_return if r.t_return is not None else r.t_last, r.peak))
    return out


def smile_score(base: Baseline, th: Thresholds) -> Callable[[FrameSignals], float | None]:
    """Smile blendshape above rest; 0 while the mouth is wide open (a yell stretches the lip corners
    too, and an open mouth is its own challenge)."""
    mouth = mouth_score(base)

    def f(s: FrameSignals) -> float | None:
        if s.smile is None:
            return None
        m = mouth(s)
        if m is not None and m >= th.mouth_open_score:
            return 0.0
        return s.smile - base.smile

    return f


def find_smiles(sigs: Sequence[FrameSignals], base: Baseline, th: Thresholds) -> list[Event]:
    """Smiles: :func:`smile_score` at least ``smile_score`` for ``action_hold_s``."""
    out = []
    on = th.smile_score
    for r in runs(_samples(sigs, smile_score(base, th)), on, on / 2.0):
        if r.reached and r.held_s + 1e-9 >= th.action_hold_s and r.t_on is not None:
            end = r.t_return if r.t_return is not None else r.t_last
            out.append(Event("smile", r.t_on, end, r.peak))
    return out


def mouth_score(base: Baseline) -> Callable[[FrameSignals], float | None]:
    """How far the mouth is open above rest: the larger of the jaw-open blendshape and the inner-lip
    gap over mouth width (the gap catches a rounded "O" that the blendshape underrates)."""

    def f(s: FrameSignals) -> float | None:
        if s.jaw_open is None or s.mouth_gap is None:
            return None
        return max(s.jaw_open - base.jaw_open, s.mouth_gap - base.mouth_gap)

    return f


def find_mouth_open(sigs: Sequence[FrameSignals], base: Baseline, th: Thresholds) -> list[Event]:
    """Open mouth: :func:`mouth_score` at least ``mouth_open_score`` for ``action_hold_s``."""
    out = []
    on = th.mouth_open_score
    for r in runs(_samples(sigs, mouth_score(base)), on, on / 2.0):
        if r.reached and r.held_s + 1e-9 >= th.action_hold_s and r.t_on is not None:
            out.append(
                Event("mouth_open", r.t_on, r.t_return if r.t_return is not None else r.t_last, r.peak)
            )
    return out


def _angle_runs(
    sigs: Sequence[FrameSignals],
    name: str,
    level: float,
    sign: int,
    on: float,
    *,
    gate: tuple[float, float, float] | None = None,
) -> list[Run]:
    """Runs of ``sign * (angle - level)``. ``gate`` (resting yaw, resting roll, limit): frames whose
    yaw or roll is further than the limit from rest count as at rest, so the pitch wobble of a head
    turn or tilt is no nod."""

    def f(s: FrameSignals) -> float | None:
        v = getattr(s, name)
        if v is None:
            return None
        if gate is not None:
            if s.yaw_deg is not None and abs(s.yaw_deg - gate[0]) >= gate[2]:
                return 0.0
            if s.roll_deg is not None and abs(s.roll_deg - gate[1]) >= gate[2]:
                return 0.0
        return sign * (float(v) - level)

    return runs(_samples(sigs, f), on, on / 2.0)


def find_turns(
    sigs: Sequence[FrameSignals], base: Baseline, th: Thresholds, *, mirrored: bool = False
) -> list[Event]:
    """Head turns of at least ``turn_yaw_deg`` from the resting yaw, held ``action_hold_s``. Named
    for the applicant's own side (``turn_left``/``turn_right``, see ``mirrored``); the image side is
    in ``image_direction``; ``peak`` is the signed yaw from rest (degrees, + = nose to image right)."""
    out: list[Event] = []
    for sign in (1, -1):
        for r in _angle_runs(sigs, "yaw_deg", base.yaw_deg, sign, th.turn_yaw_deg):
            if r.reached and r.held_s + 1e-9 >= th.action_hold_s:
                out.append(
                    Event(
                        own_turn_name(sign, mirrored),
                        r.t_leave,
                        r.t_return if r.t_return is not None else r.t_last,
                        sign * r.peak,
                        IMAGE_RIGHT if sign > 0 else IMAGE_LEFT,
                    )
                )
    return sorted(out, key=lambda e: e.start_s)


def _nod_gate(base: Baseline, th: Thresholds) -> tuple[float, float, float]:
    return (base.yaw_deg, base.roll_deg, th.turn_yaw_deg / 2.0)


def find_nods(sigs: Sequence[FrameSignals], base: Baseline, th: Thresholds) -> list[Event]:
    """Nods: the pitch leaves rest, reaches ``nod_pitch_deg`` (either way) and comes back within
    ``nod_max_s``. ``image_direction`` says which way it went first (``down_first``/``up_first``)."""
    out: list[Event] = []
    for sign in (1, -1):
        for r in _angle_runs(
            sigs, "pitch_deg", base.pitch_deg, sign, th.nod_pitch_deg, gate=_nod_gate(base, th)
        ):
            if r.reached and r.t_return is not None and r.t_return - r.t_leave <= th.nod_max_s:
                out.append(
                    Event(
                        "nod", r.t_leave, r.t_return, sign * r.peak, "up_first" if sign > 0 else "down_first"
                    )
                )
    return sorted(out, key=lambda e: e.start_s)


def find_face_count_events(sigs: Sequence[FrameSignals]) -> list[Event]:
    """Spans with no face (``no_face``) and with several faces (``multiple_faces``, peak = most faces)."""
    out: list[Event] = []
    kind: str | None = None
    start = 0.0
    peak = 0
    for s in sigs:
        k = "no_face" if s.face_count == 0 else ("multiple_faces" if s.face_count > 1 else None)
        if k != kind:
            if kind is not None:
                out.append(Event(kind, start, s.t_s, float(peak)))
            kind, start, peak = k, s.t_s, s.face_count
        elif k is not None:
            peak = max(peak, s.face_count)
    if kind is not None and sigs:
        out.append(Event(kind, start, sigs[-1].t_s, float(peak)))
    return out


def find_events(
    sigs: Sequence[FrameSignals], base: Baseline, th: Thresholds, *, mirrored: bool = False
) -> list[Event]:
    """Every event kind, sorted by start time."""
    ev = [
        *find_blinks(sigs, base, th),
        *find_smiles(sigs, base, th),
        *find_turns(sigs, base, th, mirrored=mirrored),
        *find_nods(sigs, base, th),
        *find_mouth_open(sigs, base, th),
        *find_face_count_events(sigs),
    ]
    return sorted(ev, key=lambda e: (e.start_s, e.event))


# ---------------------------------------------------------------------------------------------
# Challenges


def _neutral_fn(spec: ChallengeSpec, base: Baseline, th: Thresholds) -> Callable[[FrameSignals], bool]:
    name = spec.name
    if name is Challenge.BLINK:
        ratio = _eye_ratio(base)
        return lambda s: (ratio(s) or 0.0) >= th.blink_open_ratio
    if name is Challenge.SMILE:
        return lambda s: s.smile is not None and s.smile - base.smile < th.smile_score / 2.0
    if name is Challenge.MOUTH_OPEN:
        mouth = mouth_score(base)
        return lambda s: (mouth(s) or 0.0) < th.mouth_open_score / 2.0
    if name in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT):
        return lambda s: s.yaw_deg is not None and abs(s.yaw_deg - base.yaw_deg) < th.turn_yaw_deg / 2.0
    return lambda s: s.pitch_deg is not None and abs(s.pitch_deg - base.pitch_deg) < th.nod_pitch_deg / 2.0


def armed_time(
    sigs: Sequence[FrameSignals], neutral: Callable[[FrameSignals], bool], prompt_s: float, hold_s: float
) -> float | None:
    """First time at or after ``prompt_s`` that ends ``hold_s`` of uninterrupted neutral frames
    (all of them after the prompt). Frames without a face interrupt."""
    streak: float | None = None
    for s in sigs:
        if s.t_s < prompt_s:
            continue
        if s.has_face and neutral(s):
            if streak is None:
                streak = s.t_s
            if s.t_s - streak + 1e-9 >= hold_s:
                return s.t_s
        else:
            streak = None
    return None


_ACTION_HINT = {
    Challenge.BLINK: Hint.BLINK,
    Challenge.SMILE: Hint.SMILE,
    Challenge.TURN_LEFT: Hint.TURN_LEFT,
    Challenge.TURN_RIGHT: Hint.TURN_RIGHT,
    Challenge.NOD: Hint.NOD,
    Challenge.MOUTH_OPEN: Hint.OPEN_MOUTH,
}


def action_hint(challenge: Challenge) -> Hint:
    """The hint that just repeats what ``challenge`` asks for (no feedback on how it is going)."""
    return _ACTION_HINT[challenge]


def _parallax_ok(r: Run, spoof: SpoofConfig) -> bool:
    if r.parallax is None or r.ratio is None:
        return True  # no reference shape: nothing to judge (offline use)
    return r.parallax >= spoof.parallax_min and r.ratio >= spoof.planar_residual_max


def detect_challenge(
    spec: ChallengeSpec,
    sigs: Sequence[FrameSignals],
    base: Baseline,
    th: Thresholds,
    spoof: SpoofConfig,
    *,
    prompt_s: float,
    mirrored: bool = False,
) -> DetectorResult:
    """Progress of one challenge over the frames since its prompt (earlier frames are ignored).

    Done when the action happened after the prompt AND after ``neutral_hold_s`` of rest; blink needs
    ``spec.count`` blinks, each closure at most ``blink_max_closed_s``. A turn or nod whose
    landmarks stay planar (``parallax_min``, ``planar_residual_max``) fails with ``planar_motion``.
    """
    window = [s for s in sigs if s.t_s >= prompt_s]
    action_hint = _ACTION_HINT[spec.name]
    neutral = _neutral_fn(spec, base, th)
    armed = armed_time(window, neutral, prompt_s, th.neutral_hold_s)
    if armed is None:
        last = next((s for s in reversed(window) if s.has_face), None)
        hint = Hint.RELAX if last is not None and not neutral(last) else action_hint
        return DetectorResult(progress=0.0, hint=hint)
    after = [s for s in window if s.t_s >= armed]
    name = spec.name

    if name is Challenge.BLINK:
        evs = find_blinks(after, base, th)
        blinks = [e for e in evs if e.event == "blink"]
        long_now = bool(evs) and evs[-1].event == "eyes_closed_long"
        if len(blinks) >= spec.count:
            done = blinks[spec.count - 1]
            return DetectorResult(
                1.0,
                True,
                hint=Hint.WELL_DONE,
                events=tuple(blinks[: spec.count]),
                armed_s=armed,
                done_s=done.end_s,
            )
        ratio = _eye_ratio(base)
        last = next((s for s in reversed(after) if s.has_face), None)
        closed_now = last is not None and (ratio(last) or 1.0) < th.blink_close_ratio
        progress = (len(blinks) + (0.5 if closed_now else 0.0)) / spec.count
        hint = Hint.BLINK_SHORTER if long_now else (Hint.BLINK_AGAIN if blinks else Hint.BLINK)
        return DetectorResult(min(progress, 0.99), hint=hint, events=tuple(blinks), armed_s=armed)

    if name in (Challenge.SMILE, Challenge.MOUTH_OPEN):
        fn, on = (
            (smile_score(base, th), th.smile_score)
            if name is Challenge.SMILE
            else (mouth_score(base), th.mouth_open_score)
        )
        rs = runs(_samples(after, fn), on, on / 2.0)
        for r in rs:
            if r.reached and r.held_s + 1e-9 >= th.action_hold_s and r.t_on is not None:
                ev = Event(name.value, r.t_on, r.t_last_on or r.t_on, r.peak)
                return DetectorResult(
                    1.0,
                    True,
                    hint=Hint.WELL_DONE,
                    events=(ev,),
                    armed_s=armed,
                    done_s=(r.t_on + th.action_hold_s) if th.action_hold_s > 0 else r.t_on,
                )
        peak = max((r.peak for r in rs), default=0.0)
        more = Hint.SMILE_MORE if name is Challenge.SMILE else Hint.OPEN_WIDER
        return DetectorResult(
            min(max(peak / on, 0.0), 0.95), hint=more if peak > on / 2.0 else action_hint, armed_s=armed
        )

    if name in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT):
        sign = image_sign_for(name, mirrored)
        rs = _angle_runs(after, "yaw_deg", base.yaw_deg, sign, th.turn_yaw_deg)
        for r in rs:
            if r.reached and r.held_s + 1e-9 >= th.action_hold_s and r.t_on is not None:
                if not _parallax_ok(r, spoof):
                    return DetectorResult(0.0, failed=True, reason=Reason.PLANAR_MOTION.value, armed_s=armed)
                ev = Event(
                    name.value, r.t_leave, r.t_last, sign * r.peak, IMAGE_RIGHT if sign > 0 else IMAGE_LEFT
                )
                return DetectorResult(
                    1.0,
                    True,
                    hint=Hint.WELL_DONE,
                    events=(ev,),
                    armed_s=armed,
                    done_s=r.t_on + th.action_hold_s,
                )
        wrong = _angle_runs(after, "yaw_deg", base.yaw_deg, -sign, th.turn_yaw_deg)
        peak = max((r.peak for r in rs), default=0.0)
        if any(r.reached for r in wrong) and peak < th.turn_yaw_deg / 2.0:
            hint = Hint.TURN_OTHER_WAY
        else:
            hint = Hint.TURN_FURTHER if peak > th.turn_yaw_deg / 2.0 else action_hint
        return DetectorResult(min(max(peak / th.turn_yaw_deg, 0.0), 0.95), hint=hint, armed_s=armed)

    # NOD
    best = 0.0
    out_now = False
    for sign in (1, -1):
        for r in _angle_runs(
            after, "pitch_deg", base.pitch_deg, sign, th.nod_pitch_deg, gate=_nod_gate(base, th)
        ):
            if r.reached and r.t_return is not None and r.t_return - r.t_leave <= th.nod_max_s:
                if not _parallax_ok(r, spoof):
                    return DetectorResult(0.0, failed=True, reason=Reason.PLANAR_MOTION.value, armed_s=armed)
                ev = Event(
                    "nod", r.t_leave, r.t_return, sign * r.peak, "up_first" if sign > 0 else "down_first"
                )
                return DetectorResult(
                    1.0, True, hint=Hint.WELL_DONE, events=(ev,), armed_s=armed, done_s=r.t_return
                )
            if r.t_return is None:
                out_now = out_now or r.reached
                best = max(best, r.peak)
    progress = 0.7 * min(best / th.nod_pitch_deg, 1.0)
    return DetectorResult(progress, hint=Hint.NOD_BACK if out_now else action_hint, armed_s=armed)
