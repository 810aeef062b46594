"""Challenge drawing: seeded determinism, pool, counts, no repeats; config bounds."""

from __future__ import annotations

import itertools
import random

import pytest
from pydantic import ValidationError

from kiosk.config.liveness import LivenessConfig
from kiosk.liveness import Challenge, draw_challenges, specs_for


def test_same_seed_same_sequence_different_seeds_vary() -> None:
    cfg = LivenessConfig()
    a = draw_challenges(random.Random(42), cfg)
    b = draw_challenges(random.Random(42), cfg)
    assert a == b
    seqs = {tuple((s.name, s.count) for s in draw_challenges(random.Random(seed), cfg)) for seed in range(50)}
    assert len(seqs) > 20


def test_no_repeats_counts_and_timeouts() -> None:
    cfg = LivenessConfig(count=4, blink_count_min=2, blink_count_max=4, challenge_timeout_s=6.5)
    pool = {Challenge(n) for n in cfg.challenges}
    blink_counts = set()
    for seed in range(300):
        specs = draw_challenges(random.Random(seed), cfg)
        names = [s.name for s in specs]
        assert len(specs) == 4 and set(names) <= pool
        assert all(x != y for x, y in itertools.pairwise(names))  # never twice in a row
        assert len(set(names)) == len(names)
        for s in specs:
            assert s.timeout_s == 6.5
            if s.name is Challenge.BLINK:
                assert 2 <= s.count <= 4
                blink_counts.add(s.count)
            else:
                assert s.count == 1
    assert blink_counts == {2, 3, 4}


def test_pool_restricts_the_draw() -> None:
    cfg = LivenessConfig(challenges=["turn_left", "turn_right"], count=2)
    for seed in range(20):
        assert {s.name.value for s in draw_challenges(random.Random(seed), cfg)} == {
            "turn_left",
            "turn_right",
        }


def test_draw_uses_only_the_given_rng() -> None:
    cfg = LivenessConfig()
    random.seed(1)
    a = draw_challenges(random.Random(7), cfg)
    random.seed(2)
    b = draw_challenges(random.Random(7), cfg)
    assert a == b


def test_fixed_sequence_and_bad_names() -> None:
    cfg = LivenessConfig()
    assert [s.name for s in specs_for(["nod", "blink"], cfg)] == [Challenge.NOD, Challenge.BLINK]
    with pytest.raises(ValueError):
        specs_for(["wink"], cfg)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": 7},
        {"challenges": ["blink", "blink"]},
        {"challenges": ["blink"], "count": 2},
        {"blink_count_min": 3, "blink_count_max": 2},
        {"thresholds": {"blink_close_ratio": 0.8, "blink_open_ratio": 0.7}},
        {"spoof": {"planar_residual_max": 0}},
    ],
)
def test_config_rejects_inconsistent_values(kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        LivenessConfig(**kwargs)
