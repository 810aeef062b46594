"""Every scene renders headless (SDL dummy driver) in every language, and screenshots are written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kiosk.flow.states import State
from kiosk.strings import available_languages, load_strings
from kiosk.ui.viewmodel import ViewModel


@pytest.fixture(scope="module")
def display_factory(tmp_path_factory: pytest.TempPathFactory):
    from kiosk.ui.display import Display

    made = []

    def make(language: str, shots: Path | None = None) -> Display:
        d = Display(
            width_px=800,
            height_px=480,
            fullscreen=True,
            language=language,
            headless=True,
            screenshots_dir=shots,
        )
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def _frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)


def test_strings_have_the_same_keys_in_every_language() -> None:
    import yaml

    from kiosk import strings

    base_dir = Path(strings.__file__).parent
    keys = {
        lang: set(yaml.safe_load((base_dir / f"{lang}.yaml").read_text("utf-8")))
        for lang in available_languages()
    }
    assert {"en", "vi"} <= set(keys)
    for lang, k in keys.items():
        assert k == keys["en"], f"{lang} differs: {sorted(k ^ keys['en'])}"


@pytest.mark.parametrize("language", ["en", "vi"])
def test_every_scene_renders_and_is_screenshotted(display_factory, tmp_path: Path, language: str) -> None:
    d = display_factory(language, tmp_path)
    frame = _frame()
    for state in State:
        vm = ViewModel(
            state=state,
            language=language,
            hint="hold_still",
            preview=frame,
            face_box=(200, 100, 200, 240),
            countdown_s=4.2,
            challenge="blink" if state is State.CHALLENGES else None,
            challenge_count=3,
            challenge_index=1,
            challenge_total=3,
            progress=0.5,
            decision="approved",
            step=2,
        )
        d.render(vm)
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == len(State)
    assert shots[0] == "001_attract.png"
    # Something was drawn: the screenshot is not a flat background.
    import pygame

    img = pygame.image.load(str(tmp_path / "004_face_capture.png"))
    arr = pygame.surfarray.array3d(img)
    assert arr.std() > 10


def test_vietnamese_glyphs_are_covered_by_the_ui_font() -> None:
    import pygame

    from kiosk.ui.theme import find_font

    pygame.font.init()
    font = pygame.font.Font(find_font(), 30)
    notdef = pygame.image.tobytes(font.render("\u4e2d", True, (255, 255, 255)), "RGBA")
    chars = {c for s in load_strings("vi").values() for c in s if not c.isspace()}
    missing = [
        c for c in chars if pygame.image.tobytes(font.render(c, True, (255, 255, 255)), "RGBA") == notdef
    ]
    assert not missing, f"font lacks glyphs: {missing}"


def test_result_screen_shows_no_score(display_factory) -> None:
    strings = load_strings("en")
    from kiosk.ui.scenes import result

    d = display_factory("en")
    drawn: list[str] = []
    orig = d.painter.text
    d.painter.text = lambda s, *a, **k: (drawn.append(s), orig(s, *a, **k))[1]  # type: ignore[method-assign]
    result.render(d.painter, ViewModel(state=State.RESULT, language="en", decision="rejected"), strings)
    assert drawn == [strings["result_rejected_title"], strings["result_rejected_body"]]
    assert not any(ch.isdigit() for s in drawn for ch in s)


def test_every_hint_code_the_kiosk_can_show_has_a_string() -> None:
    from kiosk.document.autocapture import CaptureHint
    from kiosk.liveness.types import Hint

    gate_hints = {
        "face_not_found",
        "one_person_only",
        "look_at_camera",
        "move_closer",
        "move_back",
        "too_dark",
        "too_bright",
        "too_blurry",
        "hold_still",
        "camera_unavailable",
        "face_mismatch",
    }
    codes = {h.value for h in Hint} | {h.value for h in CaptureHint} | gate_hints
    for lang in ("en", "vi"):
        strings = load_strings(lang)
        missing = sorted(c for c in codes if f"hint_{c}" not in strings)
        assert not missing, f"{lang}: no string for hints {missing}"
