"""The virtual applicant: a camera source that answers the kiosk's prompts (``actor:SCENARIO``).

The engine tells the actor what the screen asks with :meth:`ActorSource.on_prompt`:
``on_prompt("smile", now)`` (a challenge name), ``on_prompt("document", now)`` (hold the ID up to
the camera) or ``on_prompt(None, now)`` (idle / between steps). Repeating the current prompt does
nothing; to ask the same challenge again, send ``None`` in between.

- Idle, the actor plays its ``neutral`` segment forward and back in a loop (no jump at the ends).
- Asked a challenge it answers (see ``behaviour`` in the scenario), after a reaction delay it plays
  that challenge's segment once, then returns to neutral at the neutral edge nearest to where the
  segment ended. A prompt that arrives mid-segment waits for the segment to finish. An unanswered
  prompt (``respond_to``, or no segment for it) leaves it neutral.
- Asked ``document``, it holds its ID image (a simulated card when ``id_image.card``) in front of
  the camera until the next prompt.

Time: the actor's stream runs on ticks of ``1/fps`` seconds from the first ``open()``; frame ``k``
is stamped ``t_open + k/fps``, so timestamps strictly increase across segment switches, prompts and
reopenings. ``realtime=True`` delivers the tick due on the clock (a late reader skips ticks, like a
live camera; on a ``FakeClock`` ``read`` never sleeps and returns None until the clock advances);
``realtime=False`` delivers the next tick at once. The actor keeps its media and timeline across
``close()``/``open()``, so a camera drop (faults) does not restart the applicant.

:class:`ImageActor` is the demo applicant that needs no data directory: scikit-image's public-domain
astronaut photo, held still with tremor and camera noise. It is a photo, so liveness rightly
rejects it.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiosk.camera.actor_media import ClipFrames, decode_clip, grab_clip_frame, load_still
from kiosk.camera.actor_render import FacePatch, NoiseBank, Tremor, hold_up, render_id_card, shake, tilt
from kiosk.camera.actor_scenario import (
    PROMPT_DOCUMENT,
    Scenario,
    Segment,
    builtin_astronaut_scenario,
    load_scenario,
)
from kiosk.camera.frame import Frame
from kiosk.camera.imageops import crop_normalized, place_on_canvas
from kiosk.camera.pacing import wait_until
from kiosk.camera.source import DEFAULT_READ_TIMEOUT_S, SourceBase, SourceEnded, SourceInfo
from kiosk.clock import Clock
from kiosk.config.camera import ActorCamera
from kiosk.errors import CameraError, KioskError
from kiosk.paths import data_dir

log = logging.getLogger(__name__)

#: Fraction of the frame width the ID card covers when held up (the document step wants >= 25%
#: of the frame area; 0.7 of the width is about 40% of a 4:3 frame).
CARD_WIDTH_FRAC = 0.7
_PHOTO_FPS = 15.0


class ActorMode(enum.Enum):
    NEUTRAL = "neutral"
    RESPONSE = "response"
    DOCUMENT = "document"


@dataclass
class _Pending:
    asked: str
    performed: str
    due_s: float


@dataclass
class _Response:
    asked: str
    performed: str
    start_s: float
    duration_s: float


class _ClipPerformer:
    """Plays labelled clip segments."""

    def __init__(self, scenario: Scenario, clips: dict[str, ClipFrames]) -> None:
        assert scenario.neutral is not None
        self._sc = scenario
        self._clips = clips
        self.neutral_seg: Segment = scenario.neutral

    def duration(self, challenge: str) -> float:
        return self._sc.responses[challenge].duration_s  # type: ignore[index]

    def _at(self, seg: Segment, c: float) -> tuple[np.ndarray, dict[str, Any]]:
        key = self._sc.clip_key(seg.clip)
        clip = self._clips[key]
        i = clip.index_at(c, seg.start_s, seg.end_s)
        return clip.image(i), {"clip": key, "clip_time_s": round(clip.times[i], 4)}

    def neutral(self, x: float, s: float) -> tuple[np.ndarray, dict[str, Any]]:
        seg = self.neutral_seg
        d = seg.duration_s
        u = math.fmod(max(0.0, x), 2 * d)
        return self._at(seg, seg.start_s + (u if u <= d else 2 * d - u))

    def response(self, challenge: str, t: float, s: float) -> tuple[np.ndarray, dict[str, Any]]:
        seg = self._sc.responses[challenge]  # type: ignore[index]
        return self._at(seg, seg.start_s + t)

    def resume_phase(self, challenge: str) -> float:
        """Neutral phase (seconds into the ping-pong) nearest to where ``challenge``'s segment ended."""
        seg = self._sc.responses[challenge]  # type: ignore[index]
        n = self.neutral_seg
        if self._sc.clip_key(seg.clip) != self._sc.clip_key(n.clip):
            return 0.0
        if seg.end_s >= n.end_s:
            return n.duration_s  # at the end, about to play backward
        if seg.end_s <= n.start_s:
            return 0.0
        return seg.end_s - n.start_s


class _PhotoPerformer:
    """A still photo held by a hand; may tilt it in answer to some challenges."""

    def __init__(self, scenario: Scenario, still: np.ndarray, rng: np.random.Generator) -> None:
        assert scenario.photo is not None
        self._photo = scenario.photo
        self._still = still
        self._tremor = Tremor(rng, self._photo.tremor_px, self._photo.tremor_deg)

    def duration(self, challenge: str) -> float:
        return self._photo.tilt_s

    def neutral(self, x: float, s: float) -> tuple[np.ndarray, dict[str, Any]]:
        return shake(self._still, *self._tremor.offset(s)), {"clip": "photo", "tilt_deg": 0.0}

    def response(self, challenge: str, t: float, s: float) -> tuple[np.ndarray, dict[str, Any]]:
        angle = self._photo.tilt_deg * math.sin(math.pi * min(1.0, max(0.0, t / self._photo.tilt_s)))
        # Own-left turn of a printed face: the print's right edge goes away (nose toward image right).
        yaw = {"turn_left": angle, "turn_right": -angle}.get(challenge, 0.0)
        pitch = -angle if challenge == "nod" else 0.0
        if challenge not in ("turn_left", "turn_right", "nod"):
            yaw = 0.5 * angle  # a wiggle: all a photo can do for a blink or a smile
        img = tilt(self._still, yaw, pitch)
        return shake(img, *self._tremor.offset(s)), {"clip": "photo", "tilt_deg": round(angle, 2)}

    def resume_phase(self, challenge: str) -> float:
        return 0.0


class ActorSource(SourceBase):
    """See the module docstring. ``width_px`` x ``height_px``: the simulated camera's frame size."""

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        *,
        realtime: bool = True,
        width_px: int = 640,
        height_px: int = 480,
        seed: int = 0,
    ) -> None:
        self._sc = scenario
        self._clock = clock
        self._realtime = realtime
        self._size = (width_px, height_px)
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._name = f"actor:{scenario.name}"
        out = scenario.output
        self._fps = out.fps or _PHOTO_FPS  # replaced by the first clip's rate at open when unset
        self._info = SourceInfo(self._name, width_px, height_px, self._fps, is_live=False)
        self._lock = threading.RLock()
        self._performer: _ClipPerformer | _PhotoPerformer | None = None
        self._id_image: np.ndarray | None = None
        self._patches: list[FacePatch] = []
        self._noise: NoiseBank | None = None
        self._doc_tremor = Tremor(np.random.default_rng(seed + 1), 0.8, 0.3)
        self._t0: float | None = None
        self._k = -1
        self._delivered = 0
        self._mode = ActorMode.NEUTRAL
        self._anchor_s = 0.0
        self._phase = 0.0
        self._free_since = 0.0
        self._resp: _Response | None = None
        self._pending: _Pending | None = None
        self._last_prompt: str | None = None
        self._ignored: str | None = None

    @classmethod
    def from_config(cls, cfg: ActorCamera, clock: Clock) -> ActorSource:
        """Build from the camera config; the scenario is loaded and validated now (media at open)."""
        return cls(
            load_scenario(cfg.scenario),
            clock,
            realtime=cfg.realtime,
            width_px=cfg.width_px,
            height_px=cfg.height_px,
            seed=cfg.seed,
        )

    # -- public ------------------------------------------------------------------------------

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def scenario(self) -> Scenario:
        return self._sc

    @property
    def answerable(self) -> frozenset[str]:
        """Challenges this actor performs when asked (a liveness pool for a session it can pass)."""
        return self._sc.answerable()

    @property
    def mode(self) -> ActorMode:
        return self._mode

    def open(self) -> None:
        with self._lock:
            if self._is_open:
                return
            if self._performer is None:
                self._load_media()
            if self._t0 is None:
                self._t0 = self._clock.now()
            self._is_open = True
            w, h = self._size
            log.info("opened %s (%dx%d, %.2f fps, realtime=%s)", self._name, w, h, self._fps, self._realtime)

    def close(self) -> None:
        # Media and the timeline are kept: a reopened actor carries on where it was.
        self._is_open = False

    def id_image(self) -> np.ndarray:
        """The RGB image the applicant presents at the document step (loaded at ``open()``)."""
        with self._lock:
            if self._id_image is None:
                if self._sc.id_image is None:
                    raise CameraError(f"scenario {self._sc.name} has no id_image", code="scenario_invalid")
                self._id_image = self._build_id_image()
            return self._id_image

    def on_prompt(self, challenge: str | None, now: float | None = None) -> None:
        """What the kiosk is asking now (a challenge name, ``"document"``, or None for idle).

        ``now`` is the engine's clock time (defaults to the actor's clock). See the module docstring.
        """
        with self._lock:
            if challenge == self._last_prompt:
                return
            self._last_prompt = challenge
            t0 = self._t0 if self._t0 is not None else self._clock.now()
            now_s = (self._clock.now() if now is None else now) - t0
            prompt_s = max(now_s, self._k / self._fps if self._k >= 0 else 0.0)
            self._pending = None
            self._ignored = None
            if self._mode is ActorMode.DOCUMENT and challenge != PROMPT_DOCUMENT:
                self._mode = ActorMode.NEUTRAL  # the card goes down at once
                self._free_since = prompt_s
            if challenge is None:
                return
            beh = self._sc.behaviour
            if challenge == PROMPT_DOCUMENT:
                if beh.show_document and self._sc.id_image is not None:
                    self._pending = _Pending(challenge, challenge, prompt_s + beh.delay_s)
                else:
                    self._ignored = challenge
                return
            performed = beh.wrong_response.get(challenge, challenge)  # type: ignore[call-overload]
            sc = self._sc
            able = performed in (sc.photo.tilt_on if sc.photo is not None else sc.responses)
            if not beh.answers(challenge) or not able:
                self._ignored = challenge
                log.debug("%s does not answer %s", self._name, challenge)
                return
            jitter = float(self._rng.uniform(0.0, beh.delay_jitter_s)) if beh.delay_jitter_s else 0.0
            delay = beh.delay_s + jitter
            self._pending = _Pending(challenge, performed, prompt_s + delay)

    def read(self, timeout_s: float = DEFAULT_READ_TIMEOUT_S) -> Frame | None:
        if self._realtime:
            # Wait for the next tick without holding the lock, so on_prompt is never blocked.
            with self._lock:
                self._require_open()
                assert self._t0 is not None
                t0, last_k = self._t0, self._k
            due_now = math.floor((self._clock.now() - t0) * self._fps + 1e-9) > last_k
            if not due_now and not wait_until(self._clock, t0 + (last_k + 1) / self._fps, timeout_s):
                return None
        with self._lock:
            self._require_open()
            assert self._t0 is not None
            if self._realtime:
                k = math.floor((self._clock.now() - self._t0) * self._fps + 1e-9)
                if k <= self._k:
                    return None  # another reader took this tick
            else:
                k = self._k + 1
            s = k / self._fps
            dur = self._sc.output.duration_s
            if dur is not None and s > dur:
                raise SourceEnded(f"end of {self._name} after {dur:g} s")
            dropped = k - self._k - 1
            self._k = k
            self._advance(s)
            rgb, meta = self._render(s)
            meta.update(source=self._name, stream_time_s=round(s, 4), dropped=dropped)
            frame = Frame(rgb=rgb, timestamp_s=self._t0 + s, index=self._delivered, meta=meta)
            self._delivered += 1
            return frame

    # -- internals ---------------------------------------------------------------------------

    def _load_media(self) -> None:
        sc = self._sc
        w, h = self._size
        if sc.photo is not None:
            photo = crop_normalized(load_still(sc.photo.image), sc.photo.roi)
            still = place_on_canvas(photo, w, h, sc.photo.fit)
            still.setflags(write=False)
            self._performer = _PhotoPerformer(sc, still, np.random.default_rng(self._seed + 2))
        else:
            needed: dict[str, list[tuple[float, float]]] = {}
            segs = [sc.neutral, *sc.responses.values()]
            for seg in segs:
                assert seg is not None
                needed.setdefault(sc.clip_key(seg.clip), []).append((seg.start_s, seg.end_s))
            cache = sc.output.cache
            clips = {}
            for key, spans in needed.items():
                clips[key] = decode_clip(key, sc.clips[key], spans, self._size, cache=cache)
            self._performer = _ClipPerformer(sc, clips)
            if sc.output.fps is None:
                self._fps = clips[sc.clip_key(sc.neutral.clip if sc.neutral else None)].fps
        self._info = SourceInfo(self._name, w, h, self._fps, is_live=False)
        self._patches = [
            FacePatch(crop_normalized(load_still(p.image), p.roi), self._size, p.height_frac, p.side)
            for p in sc.second_person
        ]
        if sc.output.noise_std > 0:
            self._noise = NoiseBank(np.random.default_rng(self._seed + 3), self._size, sc.output.noise_std)
        if sc.id_image is not None:
            self._id_image = self._build_id_image()

    def _build_id_image(self) -> np.ndarray:
        spec = self._sc.id_image
        assert spec is not None
        if spec.path is not None:
            img = load_still(spec.path)
        else:
            assert spec.at_s is not None
            img = grab_clip_frame(self._sc.clips[self._sc.clip_key(spec.clip)], spec.at_s)
        img = np.ascontiguousarray(crop_normalized(img, spec.roi))
        return render_id_card(img, self._seed) if spec.card else img

    def _advance(self, s: float) -> None:
        """Move the state machine to stream time ``s`` (transitions are timed, so skipped ticks are fine)."""
        perf = self._performer
        assert perf is not None
        for _ in range(4):
            resp = self._resp
            if self._mode is ActorMode.RESPONSE and resp is not None and s >= resp.start_s + resp.duration_s:
                end = resp.start_s + resp.duration_s
                self._mode = ActorMode.NEUTRAL
                self._anchor_s, self._phase, self._free_since = end, perf.resume_phase(resp.performed), end
                self._resp = None
                continue
            p = self._pending
            # A person back from one action rests a moment before the next (the kiosk, rightly, only
            # counts a response that starts from a neutral face).
            rest = self._sc.behaviour.rest_s if p is not None and p.performed != PROMPT_DOCUMENT else 0.0
            if (
                p is not None
                and s >= max(p.due_s, self._free_since + rest)
                and self._mode is not ActorMode.RESPONSE
            ):
                self._pending = None
                if p.performed == PROMPT_DOCUMENT:
                    self._mode = ActorMode.DOCUMENT
                else:
                    start = max(p.due_s, self._free_since + rest)
                    self._mode = ActorMode.RESPONSE
                    self._resp = _Response(p.asked, p.performed, start, perf.duration(p.performed))
                continue
            break

    def _render(self, s: float) -> tuple[np.ndarray, dict[str, Any]]:
        perf = self._performer
        assert perf is not None
        resp = self._resp
        if self._mode is ActorMode.RESPONSE and resp is not None:
            rgb, meta = perf.response(resp.performed, s - resp.start_s, s)
            meta.update(performing=resp.performed, asked=resp.asked)
        else:
            rgb, meta = perf.neutral(s - self._anchor_s + self._phase, s)
            meta.update(performing=None, asked=None)
            if self._mode is ActorMode.DOCUMENT and self._id_image is not None:
                dx, dy, deg = self._doc_tremor.offset(s)
                rgb = hold_up(rgb, self._id_image, CARD_WIDTH_FRAC, dx, dy + 0.04 * self._size[1], 1.5 + deg)
        meta.update(actor_mode=self._mode.value, prompt=self._last_prompt, ignored=self._ignored)
        shown = []
        for spec, patch in zip(self._sc.second_person, self._patches):
            if spec.during is not None:
                on = resp is not None and self._mode is ActorMode.RESPONSE and resp.asked == spec.during
            else:
                assert spec.at_s is not None and spec.duration_s is not None
                on = spec.at_s <= s < spec.at_s + spec.duration_s
            if on:
                rgb = patch.apply(rgb)
                shown.append(spec.image)
        meta["second_person"] = bool(shown)
        if self._noise is not None:
            rgb = self._noise.apply(rgb)
        elif not rgb.flags.writeable:
            rgb = rgb.copy()  # never hand out the (read-only) cache itself
        return rgb, meta


class ImageActor(ActorSource):
    """The shipped demo applicant (no data directory needed): scikit-image's public-domain astronaut
    photo with hand tremor and camera noise; ID = the same photo on a simulated card. A photo cannot
    answer challenges, so a correct kiosk rejects it at liveness."""

    def __init__(
        self, clock: Clock, *, realtime: bool = True, width_px: int = 640, height_px: int = 480, seed: int = 0
    ) -> None:
        scenario = builtin_astronaut_scenario()
        super().__init__(
            scenario, clock, realtime=realtime, width_px=width_px, height_px=height_px, seed=seed
        )


def demo_actor(clock: Clock, *, realtime: bool = True, seed: int = 0) -> ActorSource:
    """The best simulated applicant available: ``krzysiek`` (a real person who passes) when the data
    directory is present, else the :class:`ImageActor` (a photo the kiosk should reject)."""
    if data_dir() is not None:
        try:
            return ActorSource(load_scenario("krzysiek"), clock, realtime=realtime, seed=seed)
        except KioskError as exc:  # a broken data dir must not break the demo
            log.warning("krzysiek scenario unavailable (%s); using the astronaut photo", exc)
    return ImageActor(clock, realtime=realtime, seed=seed)
