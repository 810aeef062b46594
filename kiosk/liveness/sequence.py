"""Drawing the challenge sequence from an injected, seeded RNG."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness.types import Challenge, ChallengeSpec

log = logging.getLogger(__name__)


def spec_for(name: Challenge | str, cfg: LivenessConfig, *, count: int | None = None) -> ChallengeSpec:
    """A :class:`ChallengeSpec` for ``name`` with the configured timeout; blink gets ``count``
    (default ``blink_count_min``), every other challenge 1."""
    ch = Challenge(name)
    n = (count if count is not None else cfg.blink_count_min) if ch is Challenge.BLINK else 1
    return ChallengeSpec(name=ch, count=int(n), timeout_s=cfg.challenge_timeout_s)


def specs_for(names: Sequence[Challenge | str], cfg: LivenessConfig) -> list[ChallengeSpec]:
    """Fixed sequence (tests, evaluation, a scripted demo)."""
    return [spec_for(n, cfg) for n in names]


def draw_challenges(rng: random.Random, cfg: LivenessConfig) -> list[ChallengeSpec]:
    """``cfg.count`` challenges from ``cfg.challenges``, in random order, none repeated (so never
    twice in a row); a blink challenge asks for ``blink_count_min..blink_count_max`` blinks.

    Deterministic for a given ``rng`` state: the same seed gives the same sequence, which the
    decision record can store and replay.
    """
    pool = [Challenge(n) for n in cfg.challenges]
    names = rng.sample(pool, cfg.count)
    out = []
    for ch in names:
        n = rng.randint(cfg.blink_count_min, cfg.blink_count_max) if ch is Challenge.BLINK else 1
        out.append(ChallengeSpec(name=ch, count=n, timeout_s=cfg.challenge_timeout_s))
    log.debug("drew challenges %s", [s.name.value for s in out])
    return out
