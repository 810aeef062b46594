"""Composition root: builds every part from config and owns the main loop.

Main loop, once per iteration: poll display input -> take perceived frames (or camera loss) -> turn them
into engine events (quality gates, liveness status) -> take worker results -> step the engine -> carry
out its effects -> render the scene -> ping the watchdog. Inference runs on the perception thread and the
worker; the loop itself only draws, so the screen never freezes.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.clock import Clock, FakeClock, MonotonicClock
from kiosk.config import config_sha256
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.context import Context, StaticInfo
from kiosk.flow.engine import step
from kiosk.flow.gates import check_gates
from kiosk.flow.states import State
from kiosk.runtime.eventlog import EventLog
from kiosk.runtime.pump import Perceived, PerceptionPump, SourceBack, SourceEnd, SourceLost
from kiosk.runtime.worker import Worker

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """How this run differs from the appliance default.

    ``source``: camera URI overriding ``camera`` in config. ``id_image``: play the upload path of the
    document step with this file. ``headless``: no screen; attract and consent are accepted automatically.
    ``sessions``: stop after this many sessions (None: run until stopped). ``seed``: base seed of the
    per-session RNGs (None: random). ``realtime``: pace replayed media at its own rate (None: config).
    """

    source: str | None = None
    id_image: Path | None = None
    headless: bool = False
    events_path: str | None = None
    screenshots_dir: Path | None = None
    sessions: int | None = None
    seed: int | None = None
    realtime: bool | None = None
    max_wall_s: float | None = None


@dataclass
class SessionScratch:
    """Per-session biometric data, in memory only; wiped at the end of every session."""

    id_embedding: Any = None
    frames: deque[Perceived] = field(default_factory=lambda: deque(maxlen=90))

    def wipe(self) -> None:
        import numpy as np

        if isinstance(self.id_embedding, np.ndarray):
            self.id_embedding.fill(0.0)  # overwrite, not only drop, the template
        self.id_embedding = None
        self.frames.clear()


class KioskApp:
    def __init__(self, cfg: Any, opts: RunOptions, *, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.opts = opts
        self.source: Any = None
        self.actor: Any = None
        self.pump: PerceptionPump | None = None
        self.display: Any = None
        self.landmarker: Any = None
        self.matcher: Any = None
        self.liveness: Any = None
        self.doc_capture: Any = None
        self.audit: Any = None
        self.outbox: Any = None
        self.records_rt: Any = None
        self.watchdog: Any = None
        self.notifier: Any = None
        self.reloader: Any = None  # kiosk.platform.reload.ConfigReloader, set by the run command
        self.events = EventLog(opts.events_path)
        self.worker: Worker | None = None
        self.scratch = SessionScratch()
        self.state = State.ATTRACT
        self.ctx = Context()
        self.records: list[dict[str, Any]] = []
        self.sessions_done = 0
        self.stop_requested = False
        self.source_ended = False
        self._clock = clock
        self._sim = False
        self._prompted: tuple[State, str | None] | None = None
        self._last_perceived: Perceived | None = None
        self._seed_rng = random.Random(opts.seed) if opts.seed is not None else None

    # ---- construction -------------------------------------------------------------------------
    def build(self) -> None:
        """Open the camera, load and verify the models, open the audit log and the display."""
        from kiosk.camera.factory import find_actor, parse_source_uri, resilient_source
        from kiosk.models import model_sha256s, verified_model_path
        from kiosk.perception.landmarker import FaceLandmarker, LandmarkerOptions, RunningMode
        from kiosk.verifier import FaceVerifier

        cam_cfg = parse_source_uri(self.opts.source) if self.opts.source else self.cfg.camera
        if self.opts.realtime is not None and hasattr(cam_cfg, "realtime"):
            cam_cfg = cam_cfg.model_copy(update={"realtime": self.opts.realtime})
        simulated = cam_cfg.type in ("file", "dir", "actor")
        self._sim = simulated and not getattr(cam_cfg, "realtime", True)
        if self._clock is None:
            self._clock = FakeClock() if self._sim else MonotonicClock()
        self.matcher = FaceVerifier(self.cfg)
        _ = self.matcher.embedder  # loads the model after checking its sha256: refuse to start on a mismatch
        self.matcher.threshold(document=True)  # no calibrated threshold: refuse to start, never guess
        lm_path = verified_model_path("face_landmarker")
        self.landmarker = FaceLandmarker(
            LandmarkerOptions(model_path=lm_path, mode=RunningMode.VIDEO, max_faces=3)
        )
        # A missing camera is an event (attract says so and it is retried), never a crash.
        self.source = resilient_source(cam_cfg, clock=self._clock)
        self.actor = find_actor(self.source)
        self.pump = PerceptionPump(self.source, self.landmarker, threaded=not self._sim, hook=self._analyse)
        self.worker = Worker(inline=self._sim)
        shas = model_sha256s(["face_landmarker", self.matcher.model_name])
        self.ctx = Context(
            static=StaticInfo(
                kiosk_id=self.cfg.records.kiosk_id,
                model_sha256=shas,
                config_sha256=config_sha256(self.cfg),
                app_version=__version__,
            )
        )
        self._open_records()
        self._open_display()
        from kiosk.platform.notify import Notifier, Watchdog

        self.notifier = Notifier.from_env()
        self.watchdog = Watchdog.from_env(self.notifier)

    def _open_records(self) -> None:
        """Open the signed audit log and the outbox. On the appliance the device key is made at install and
        a missing key stops the start; a developer's or demo run (not under systemd) makes one."""
        import os

        from kiosk.errors import StorageError
        from kiosk.records.keys import generate_key
        from kiosk.records.runtime import open_records, signing_key_path

        try:
            # The outbox retries on the real clock even in a fast replay: its traffic is real.
            self.records_rt = open_records(self.cfg)
        except StorageError as exc:
            if exc.code != "key_missing" or os.environ.get("NOTIFY_SOCKET"):
                raise
            key_path = signing_key_path(self.cfg.records)
            log.warning("no device signing key; creating %s for this development run", key_path)
            generate_key(key_path)
            self.records_rt = open_records(self.cfg)
        self.audit = self.records_rt.log
        self.outbox = self.records_rt.outbox
        self.outbox.start()

    def _open_display(self) -> None:
        from kiosk.ui.display import make_display

        self.display = make_display(
            self.cfg, headless=self.opts.headless, screenshots_dir=self.opts.screenshots_dir
        )

    @property
    def clock(self) -> Clock:
        assert self._clock is not None
        return self._clock

    # ---- main loop ---------------------------------------------------------------------------
    def run(self) -> int:
        """Run until stopped, the source ends, or ``sessions`` sessions are done. Returns an exit code."""
        if self.notifier is not None:
            self.notifier.ready("kiosk running")
        self.events.write("kiosk_started", self.clock.now(), version=__version__, sim=self._sim)
        wall_start = time.monotonic()
        frame_period = 1.0 / self.cfg.display.fps
        last_render = -1.0
        self._service_check()
        self._render()  # the attract screen, before anything happens
        while not self.stop_requested:
            loop_start = time.monotonic()
            pending: list[Any] = []
            self._apply_reload()
            pending.extend(self._ui_events())
            pending.extend(self._perception_events())
            if self.worker is not None:
                pending.extend(self.worker.drain())
            pending.extend(self._headless_events())
            pending.append(ev.Tick())
            for e in pending:
                self._feed(e, self.clock.now())
            self._prompt_actor()
            if self._sim or time.monotonic() - last_render >= frame_period:
                self._render()
                last_render = time.monotonic()
            if self.watchdog is not None:
                self.watchdog.ping(time.monotonic())  # from the main loop only: a hung loop is restarted
            if self.records_rt is not None and self.state is State.ATTRACT:
                self.records_rt.housekeeping(time.monotonic())
            if self._should_stop():
                break
            if self.opts.max_wall_s is not None and time.monotonic() - wall_start > self.opts.max_wall_s:
                log.warning("stopping: max wall time reached")
                break
            if not self._sim:
                spare = frame_period - (time.monotonic() - loop_start)
                if spare > 0:
                    time.sleep(min(spare, 0.02))
        return 0

    def _should_stop(self) -> bool:
        limit = self.opts.sessions
        if limit is not None and self.sessions_done >= limit:
            return True  # the last result is recorded and rendered; no need to wait out its display time
        return self.source_ended and self.state not in (State.RESULT, State.FAILSAFE)

    def _feed(self, event: Any, now: float) -> None:
        before = self.state
        tr = step(self.state, self.ctx, event, now, self.cfg)
        self.state, self.ctx = tr.state, tr.ctx
        if self.state is not before:
            self.events.write(
                "state",
                now,
                state=self.state.value,
                previous=before.value,
                session_id=self.ctx.session_id,
                hint=self.ctx.hint,
            )
        for effect in tr.effects:
            try:
                self._do(effect, now)
            except Exception as exc:
                log.exception("effect %s failed", type(effect).__name__)
                self._feed(ev.Fault(f"effect_error:{type(effect).__name__}", str(exc)), now)

    # ---- inputs ------------------------------------------------------------------------------
    def _ui_events(self) -> list[Any]:
        if self.display is None:
            return []
        from kiosk.ui.display import UiInput

        out: list[Any] = []
        for inp in self.display.poll():
            if inp is UiInput.QUIT:
                self.stop_requested = True
            elif inp is UiInput.START and self.state in (State.ATTRACT, State.RESULT):
                out.append(self._start_event())
            elif inp is UiInput.ACCEPT and self.state is State.CONSENT:
                out.append(ev.ConsentAnswered(True))
            elif inp is UiInput.DECLINE and self.state is State.CONSENT:
                out.append(ev.ConsentAnswered(False))
            elif inp is UiInput.CANCEL and self.state not in (State.ATTRACT, State.CONSENT):
                out.append(ev.CancelPressed())
        return out

    def _start_event(self) -> ev.StartPressed:
        seed = self._seed_rng.getrandbits(32) if self._seed_rng is not None else secrets.randbits(32)
        return ev.StartPressed(session_id=secrets.token_hex(8), seed=seed)

    def _headless_events(self) -> list[Any]:
        if not self.opts.headless:
            return []
        limit = self.opts.sessions
        more = limit is None or self.sessions_done < limit
        if self.state is State.ATTRACT and self.ctx.camera_ok and more and not self.source_ended:
            return [self._start_event()]
        if self.state is State.CONSENT:
            return [ev.ConsentAnswered(True)]
        return []

    def _perception_events(self) -> list[Any]:
        assert self.pump is not None
        out: list[Any] = []
        items = self.pump.poll()
        got_frame = any(isinstance(i, Perceived) for i in items)
        for item in items:
            if isinstance(item, SourceLost):
                out.append(ev.CameraLost(item.message))
            elif isinstance(item, SourceBack):
                out.append(ev.CameraBack())
            elif isinstance(item, SourceEnd):
                self.source_ended = True
                out.append(ev.CameraLost("source ended"))
            elif isinstance(item, Perceived):
                if isinstance(self._clock, FakeClock) and item.frame.timestamp_s > self._clock.now():
                    self._clock.set(item.frame.timestamp_s)
                self._last_perceived = item
                out.extend(self._on_frame(item))
        if self._sim and isinstance(self._clock, FakeClock) and not got_frame:
            # No frame (a simulated outage): simulated time still passes, so timeouts and reopening run.
            self._clock.advance(0.05)
        return out

    def _analyse(self, frame: Any, obs: Any) -> list[Any]:
        """Per-frame analysis for the current step. Runs on the perception thread for a live camera (the
        document outline costs tens of ms), inline for replays. Returns engine events or hint strings."""
        state = self.state
        doc, live = self.doc_capture, self.liveness  # read once: the main loop may swap them
        if state is State.DOCUMENT and doc is not None:
            hint = doc.update(frame.rgb, frame.timestamp_s)
            return [hint] if hint is not None else []
        if state is State.FACE_CAPTURE:
            g = check_gates(obs, self.cfg.face.capture)
            q = obs.primary.quality.as_dict() if (obs.primary and obs.primary.quality) else {}
            return [ev.FaceSeen(frame.timestamp_s, g.face_count, g.ok, g.hint, q)]
        if state is State.CHALLENGES and live is not None:
            return [live.update(obs, frame.rgb)]
        return []

    def _on_frame(self, p: Perceived) -> list[Any]:
        """The engine events of one perceived frame; hint strings update the screen directly."""
        if self.state in (State.FACE_CAPTURE, State.MATCHING, State.CHALLENGES):
            self.scratch.frames.append(p)
        out: list[Any] = []
        for r in p.results:
            if isinstance(r, str):
                if self.state is State.DOCUMENT and r != self.ctx.hint:
                    self.ctx = self.ctx.evolve(hint=r)
            else:
                out.append(r)
        return out

    # ---- effects -----------------------------------------------------------------------------
    def _do(self, effect: fx.Effect, now: float) -> None:
        if isinstance(effect, fx.BeginSession):
            self.scratch.wipe()
            self.events.write("session_started", now, session_id=effect.session_id, seed=effect.seed)
        elif isinstance(effect, fx.StartDocument):
            self._start_document()
        elif isinstance(effect, fx.StartFaceCapture):
            pass  # capture is driven by frames through the quality gates
        elif isinstance(effect, fx.EmbedLiveFace):
            self._embed_live(effect)
        elif isinstance(effect, fx.StartLiveness):
            from kiosk.runtime.liveness_link import start_liveness

            self.liveness = start_liveness(self.cfg, effect.seed, mirrored=self.cfg.display.mirror_preview)
            self.events.write(
                "challenges", now, session_id=self.ctx.session_id, challenges=self.liveness.challenge_names
            )
        elif isinstance(effect, fx.RetryMatchSample):
            if self.liveness is not None:
                self.liveness.embedding_failed(effect.timestamp_s)
        elif isinstance(effect, fx.ForwardMatchSample):
            if self.liveness is not None:
                self.liveness.add_match_sample(effect.timestamp_s, effect.matched, effect.distance)
        elif isinstance(effect, fx.WriteRecord):
            self._write_record(effect.record, now)
        elif isinstance(effect, fx.EndSession):
            self.scratch.wipe()
            self.liveness = None
            self.doc_capture = None
            self.sessions_done += 1
            self._service_check()

    def _start_document(self) -> None:
        from kiosk.runtime.document_link import start_document

        assert self.worker is not None
        self.doc_capture = start_document(
            self.cfg, self.opts.id_image, self.matcher, self.scratch, self.worker.submit, self.clock
        )

    def _embed_live(self, effect: fx.EmbedLiveFace) -> None:
        assert self.worker is not None
        chosen = None
        for p in reversed(self.scratch.frames):
            if p.frame.timestamp_s <= effect.timestamp_s + 1e-6:
                chosen = p
                break
        if chosen is None and self.scratch.frames:
            chosen = self.scratch.frames[-1]
        matcher, scratch, purpose = self.matcher, self.scratch, effect.purpose

        def job() -> Any:
            if chosen is None or chosen.obs.face_count != 1:
                t = chosen.frame.timestamp_s if chosen is not None else None
                return ev.MatchFailed(purpose, "no_single_face", "no single face in the chosen frame", t)
            if scratch.id_embedding is None:
                return ev.MatchFailed(purpose, "no_document", "no document portrait enrolled")
            dec = matcher.compare_live(chosen.frame.rgb, chosen.obs.faces[0], scratch.id_embedding)
            return ev.MatchResult(purpose, chosen.frame.timestamp_s, dec.distance, dec.threshold, dec.match)

        self.worker.submit(f"embed_{purpose}", job)

    def _write_record(self, record: dict[str, Any], now: float) -> None:
        """Append the record durably (fsync'd commit) before the result is drawn. A record the log refuses
        is written again in its minimal form; if even that fails the kiosk goes out of service."""
        from kiosk.errors import KioskError

        try:
            stored = self.audit.append(record)
        except KioskError as exc:
            log.error("decision record refused (%s): %s; writing the minimal record", exc.code, exc.message)
            keep = (
                "session_id",
                "kiosk_id",
                "decision",
                "seed",
                "timings",
                "models",
                "config_sha256",
                "app_version",
            )
            minimal = {k: record.get(k) for k in keep}
            minimal["reasons"] = [*record.get("reasons", []), f"record_{exc.code}"]
            try:
                stored = self.audit.append(minimal)
            except KioskError as exc2:
                log.critical("cannot write decision records (%s); out of service", exc2.message)
                self._feed(ev.ServiceCheck(False, "records_unwritable"), now)
                self._feed(ev.Fault("records_unwritable", exc2.message), now)
                return
            record = minimal
        rid = stored.record_id
        if self.outbox is not None:
            self.outbox.notify()
        full = {**record, "record_id": rid}
        self.records.append(full)
        self.events.write("decision", now, **full)

    # ---- misc --------------------------------------------------------------------------------
    def _prompt_actor(self) -> None:
        """Tell a simulated applicant what the screen asks, once per change."""
        if self.actor is None:
            return
        ask: str | None = None
        if self.state is State.CHALLENGES:
            ask = self.ctx.challenge
        elif self.state is State.DOCUMENT and self.doc_capture is not None:
            ask = "document"
        key = (self.state, ask)
        if key != self._prompted:
            self._prompted = key
            self.actor.on_prompt(ask, self.clock.now())

    def _service_check(self) -> None:
        from kiosk.platform.probes import disk_ok

        ok, free_mb = disk_ok(Path(self.cfg.records.data_dir), self.cfg.records.min_free_mb)
        if not ok:
            log.error("disk nearly full (%.0f MB free); new sessions stopped", free_mb)
        self._feed(ev.ServiceCheck(ok, None if ok else "disk_full"), self.clock.now())

    def _render(self) -> None:
        if self.display is None:
            return
        from kiosk.ui.viewmodel import build_view

        p = self._last_perceived
        preview = p.frame.rgb if p is not None else None
        box = p.obs.primary.box if (p is not None and p.obs.primary is not None) else None
        timeouts = {
            State.CONSENT: self.cfg.consent.timeout_s,
            State.DOCUMENT: self.cfg.document.timeout_s,
            State.FACE_CAPTURE: self.cfg.face.capture.timeout_s,
        }
        vm = build_view(
            self.state,
            self.ctx,
            self.clock.now(),
            language=self.cfg.language,
            preview=preview,
            face_box=box,
            mirror=self.cfg.display.mirror_preview,
            timeouts=timeouts,
        )
        self.display.render(vm)

    def _apply_reload(self) -> None:
        """Take a SIGHUP-requested config between sessions; a bad file keeps the running config."""
        if self.reloader is None or not self.reloader.pending:
            return
        if self.state not in (State.ATTRACT, State.OUT_OF_SERVICE, State.LOCKED):
            return
        new = self.reloader.poll()
        if new is self.cfg:
            self.events.write("config_reload_rejected", self.clock.now(), error=str(self.reloader.last_error))
            return
        self.cfg = new
        static = self.ctx.static
        self.ctx = self.ctx.evolve(
            static=StaticInfo(
                kiosk_id=self.cfg.records.kiosk_id,
                model_sha256=static.model_sha256,
                config_sha256=config_sha256(self.cfg),
                app_version=__version__,
            )
        )
        if self.display is not None:
            self.display.set_language(self.cfg.language)
        self.events.write("config_reloaded", self.clock.now(), config_sha256=config_sha256(self.cfg))

    def close(self) -> None:
        for part in (self.pump, self.worker):
            if part is not None:
                part.close()
        for part in (self.source, self.landmarker, self.matcher, self.records_rt, self.display):
            close = getattr(part, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:
                    log.warning("closing %s: %s", type(part).__name__, exc)
        self.scratch.wipe()
        self.events.close()
