"""Challenge liveness on MediaPipe FaceLandmarker observations.

Interface for the session engine (``kiosk.flow`` / the app)::

    import random
    from kiosk.liveness import LivenessSession, draw_challenges

    specs = draw_challenges(random.Random(seed), cfg.liveness)   # list[ChallengeSpec]
    sess = LivenessSession(cfg.liveness, specs, mirrored=cfg.display.mirror_preview)
    for each perceived frame (FrameObservation from the VIDEO-mode landmarker):
        status = sess.update(obs)            # optionally sess.update(obs, rgb) for the screen check
        if status.embed_request:             # embed THIS frame's face on the worker, then:
            sess.add_match_sample(status.timestamp_s, matched, distance)
            # or, when the worker could not embed that frame (no face found, error):
            sess.embedding_failed(status.timestamp_s)   # asked again later; not a mismatch
        if status.finished: status.state is PASSED or FAILED (status.reason)

* :func:`draw_challenges` -- ``cfg.count`` names from ``cfg.challenges`` in random order without
  repeats (so never twice in a row); blink asks for ``blink_count_min..max`` blinks; each spec has
  ``timeout_s``. Same seed, same sequence.
* :class:`LivenessSession` -- deterministic, timed only by the observations' own timestamps
  (seconds). BASELINE (steady neutral face: open-eye and resting-mouth levels) -> ACTIVE (the
  session prompts each challenge itself: ``status.prompt_s``; a response counts only when it starts
  after its prompt from a neutral state held ``neutral_hold_s``) -> PASSED or FAILED.
  :class:`LivenessStatus` carries the current challenge, its progress 0..1, ``time_left_s``, a
  :class:`Hint` code for the UI, ``arrow`` for turns, ``embed_request`` and, once finished, a
  JSON-safe ``detail`` for the decision record. Failure codes (:class:`Reason`):
  ``challenge_timeout``, ``baseline_timeout``, ``second_face``, ``face_lost``, ``face_jump``,
  ``static_photo``, ``planar_motion``, ``screen_replay``, ``identity_mismatch``,
  ``reembed_missing``.
* Re-embedding: ``embed_request`` is True every ``reembed_interval_s`` on frames with exactly one
  face while the challenges run (and while the session waits for missing samples after the last
  one). The session passes only with at least ``min_reembed_samples`` matched samples for frames it
  asked for; a single non-matching sample fails it (``identity_mismatch``). A frame the worker could
  not embed is reported with ``embedding_failed`` (the session asks again), not as a non-match.
* ``mirrored`` is the PREVIEW's mirroring: it only sets ``status.arrow``. Detection uses the camera
  image, which is not mirrored, so turn_left is always the applicant's own left. Pass
  ``frames_mirrored=True`` only when the observations come from flipped frames.

Pure detectors (:mod:`kiosk.liveness.detectors`) work over any window of per-frame signals
(:mod:`kiosk.liveness.signals`) with a per-applicant :class:`Baseline`; offline analysis of a clip
is in :mod:`kiosk.liveness.analysis` (``ekyc-kiosk analyze``).
"""

from kiosk.liveness.baseline import Baseline
from kiosk.liveness.detectors import detect_challenge, find_events
from kiosk.liveness.sequence import draw_challenges, spec_for, specs_for
from kiosk.liveness.session import LivenessSession
from kiosk.liveness.signals import FrameSignals, compute_signals
from kiosk.liveness.types import (
    Challenge,
    ChallengeSpec,
    DetectorResult,
    Event,
    Hint,
    LivenessState,
    LivenessStatus,
    Reason,
)

__all__ = [
    "Baseline",
    "Challenge",
    "ChallengeSpec",
    "DetectorResult",
    "Event",
    "FrameSignals",
    "Hint",
    "LivenessSession",
    "LivenessState",
    "LivenessStatus",
    "Reason",
    "compute_signals",
    "detect_challenge",
    "draw_challenges",
    "find_events",
    "spec_for",
    "specs_for",
]
