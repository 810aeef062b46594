"""The scenario file of the virtual applicant (``actor:SCENARIO.yaml``).

A scenario is either a *video* actor (``clips`` + ``neutral`` + ``responses``: labelled segments of
real clips) or a *photo* actor (``photo``: a still image held in front of the camera, with hand
tremor and camera noise). Media paths are relative to the evaluation data directory
(``EKYC_DATA_DIR``, see :func:`kiosk.paths.data_dir`); ``builtin:astronaut`` names scikit-image's
public-domain astronaut photo, which ships with scikit-image. See ``docs/camera.md`` for a worked
example and ``config/scenarios/`` for real ones.

Turn directions: ``turn_left`` is the applicant's OWN left. In a clip that is not mirrored, the
nose then points to the image's RIGHT edge; ``events.csv`` labels image directions
(``turn_nose_to_image_right``), so each scenario states which segment answers which turn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from kiosk.config.base import Section
from kiosk.config.camera import FaultSpec
from kiosk.config.liveness import ChallengeName
from kiosk.errors import CameraError
from kiosk.paths import REPO_DIR

log = logging.getLogger(__name__)

#: ``on_prompt`` name that asks the actor to hold its ID document up to the camera.
PROMPT_DOCUMENT = "document"
#: The built-in still image usable without the data directory.
BUILTIN_ASTRONAUT = "builtin:astronaut"
#: Where named scenarios live (``actor:krzysiek`` -> config/scenarios/krzysiek.yaml).
SCENARIO_DIR = REPO_DIR / "config" / "scenarios"


def _check_roi(roi: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = roi
    if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1.0001 and y + h <= 1.0001):
        raise ValueError("roi is (x, y, w, h) as fractions of the image, inside 0..1")
    return roi


#: A region (x, y, w, h) given as fractions of an image.
Roi = Annotated[tuple[float, float, float, float], AfterValidator(_check_roi)]


class Clip(Section):
    path: str = Field(..., min_length=1, description="Video file, relative to the data dir")
    roi: Roi | None = Field(None, description="Crop (x, y, w, h) as fractions of the frame before framing")
    fit: Literal["cover", "contain"] = Field(
        "cover", description="cover: fill the camera frame, cropping evenly; contain: fit with black bars"
    )
    flip: bool = Field(False, description="Mirror the frames left-right (simulates a mirrored webcam)")
    mirrored: bool | None = Field(
        None, description="Whether the recording is known to be mirrored (documentation; null: unknown)"
    )


class Segment(Section):
    clip: str | None = Field(None, description="Key in `clips`; may be left out when there is one clip")
    start_s: float = Field(..., ge=0, le=3600, description="Segment start, seconds of clip time")
    end_s: float = Field(..., gt=0, le=3600, description="Segment end, seconds of clip time")
    note: str = Field("", description="What the segment shows (free text)")

    @model_validator(mode="after")
    def _order(self) -> Segment:
        if self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class Photo(Section):
    image: str = Field(..., min_length=1, description="Still image (data-dir path or builtin:astronaut)")
    roi: Roi | None = Field(None, description="Crop (x, y, w, h) as fractions of the image")
    fit: Literal["cover", "contain"] = Field("cover", description="How the photo fills the camera frame")
    tremor_px: float = Field(1.5, ge=0, le=20, description="Hand tremor amplitude (pixels)")
    tremor_deg: float = Field(0.4, ge=0, le=10, description="Hand tremor rotation amplitude (degrees)")
    tilt_on: list[ChallengeName] = Field(
        default_factory=list,
        description="Challenges the attacker answers by tilting the photo (turns: about the vertical axis; "
        "nod: about the horizontal axis)",
    )
    tilt_deg: float = Field(25.0, ge=0, le=70, description="Largest tilt of the photo (degrees)")
    tilt_s: float = Field(1.5, gt=0, le=10, description="Duration of one tilt and back (s)")


class IdImage(Section):
    """The image the applicant presents at the document step: a file, or a frame of a clip."""

    path: str | None = Field(None, description="Image file (data-dir path or builtin:astronaut)")
    clip: str | None = Field(None, description="Key in `clips` to take a frame from (with at_s)")
    at_s: float | None = Field(None, ge=0, le=3600, description="Clip time of that frame (s)")
    roi: Roi | None = Field(None, description="Crop (x, y, w, h) as fractions, e.g. around the face")
    card: bool = Field(
        False, description="Render the (cropped) portrait onto a plain simulated ID-1 card with dummy text"
    )

    @model_validator(mode="after")
    def _one_source(self) -> IdImage:
        if (self.path is None) == (self.at_s is None):
            raise ValueError("give either `path` or `at_s` (a frame of a clip)")
        return self


class SecondPerson(Section):
    """Another face entering the camera view, composited from a still image."""

    image: str = Field(..., min_length=1, description="Image of the other person (data-dir path)")
    roi: Roi | None = Field(None, description="Crop (x, y, w, h) as fractions, around that face")
    at_s: float | None = Field(None, ge=0, description="Appears this many seconds after the source opens")
    duration_s: float | None = Field(None, gt=0, description="... for this long (s)")
    during: ChallengeName | None = Field(None, description="Or: while answering this challenge")
    side: Literal["left", "right"] = Field("right", description="Which side of the frame")
    height_frac: float = Field(0.45, gt=0.05, le=0.9, description="Patch height as a fraction of the frame")

    @model_validator(mode="after")
    def _when(self) -> SecondPerson:
        timed = self.at_s is not None and self.duration_s is not None
        if timed == (self.during is not None):
            raise ValueError("give either at_s + duration_s, or during: <challenge>")
        return self


class Behaviour(Section):
    respond_to: Literal["all", "none"] | list[ChallengeName] = Field(
        "all", description="Which prompts the actor answers (the others it ignores, staying neutral)"
    )
    delay_s: float = Field(0.6, ge=0, le=10, description="Reaction time after a prompt (s)")
    delay_jitter_s: float = Field(0.2, ge=0, le=5, description="Uniform extra reaction time 0..this (s)")
    rest_s: float = Field(
        0.8, ge=0, le=10, description="A person rests this long in neutral between two actions (s)"
    )
    wrong_response: dict[ChallengeName, ChallengeName] = Field(
        default_factory=dict, description="Asked X, perform Y instead (e.g. turn_left: turn_right)"
    )
    show_document: bool = Field(True, description="Hold the ID image up to the camera on prompt 'document'")

    def answers(self, challenge: str) -> bool:
        if self.respond_to == "all":
            return True
        if self.respond_to == "none":
            return False
        return challenge in self.respond_to


class Output(Section):
    fps: float | None = Field(None, gt=0, le=120, description="Frames/s (null: neutral clip's; photo: 15)")
    noise_std: float = Field(0.0, ge=0, le=30, description="Added camera noise, std in grey levels")
    duration_s: float | None = Field(None, gt=0, description="End the stream (SourceEnded) after this long")
    cache: Literal["jpeg", "raw"] = Field(
        "jpeg", description="Keep decoded clip frames JPEG-compressed (small) or raw (exact, ~1 MB/frame)"
    )


class Scenario(Section):
    name: str = Field(..., min_length=1, description="Short name, for logs")
    description: str = Field("", description="What this applicant does")
    clips: dict[str, Clip] = Field(default_factory=dict, description="Named clips (video actor)")
    neutral: Segment | None = Field(None, description="Idle segment, played forward and back in a loop")
    responses: dict[ChallengeName, Segment] = Field(
        default_factory=dict, description="Segment that answers each challenge"
    )
    photo: Photo | None = Field(None, description="Still-image actor instead of clips")
    id_image: IdImage | None = Field(None, description="What the applicant presents at the document step")
    behaviour: Behaviour = Field(default_factory=lambda: Behaviour.model_validate({}))
    second_person: list[SecondPerson] = Field(default_factory=list, max_length=8)
    faults: list[FaultSpec] = Field(default_factory=list, max_length=64, description="Camera faults")
    output: Output = Field(default_factory=lambda: Output.model_validate({}))

    @field_validator("clips", mode="before")
    @classmethod
    def _clip_shorthand(cls, v: Any) -> Any:
        # `clips: {main: path/to/clip.mp4}` is short for `{main: {path: ...}}`.
        if isinstance(v, dict):
            return {k: ({"path": c} if isinstance(c, str) else c) for k, c in v.items()}
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.photo is None:
            if not self.clips or self.neutral is None:
                raise ValueError("a video actor needs `clips` and a `neutral` segment (or give `photo`)")
        elif self.clips or self.neutral is not None or self.responses:
            raise ValueError("a photo actor takes no `clips`, `neutral` or `responses`")
        if self.neutral is not None:
            self.clip_key(self.neutral.clip, "neutral")
        for name, seg in self.responses.items():
            self.clip_key(seg.clip, f"responses.{name}")
        if self.id_image is not None and self.id_image.at_s is not None:
            self.clip_key(self.id_image.clip, "id_image")
        return self

    def clip_key(self, key: str | None, where: str = "segment") -> str:
        """The clip a segment refers to (the only clip when ``key`` is None)."""
        if key is None:
            if len(self.clips) != 1:
                raise ValueError(f"{where}: name its clip (there are {len(self.clips)} clips)")
            return next(iter(self.clips))
        if key not in self.clips:
            raise ValueError(f"{where}: unknown clip {key!r} (have: {', '.join(self.clips) or 'none'})")
        return key

    def answerable(self) -> frozenset[str]:
        """Challenges this actor will perform when asked (after ``respond_to`` and ``wrong_response``)."""
        out = set()
        for ch in ("blink", "smile", "turn_left", "turn_right", "nod", "mouth_open"):
            if not self.behaviour.answers(ch):
                continue
            performed = self.behaviour.wrong_response.get(ch, ch)  # type: ignore[call-overload]
            if self.photo is not None:
                if performed in self.photo.tilt_on:
                    out.add(ch)
            elif performed in self.responses:
                out.add(ch)
        return frozenset(out)


def builtin_astronaut_scenario() -> Scenario:
    """The demo applicant shipped with the code: scikit-image's astronaut photo (public domain, NASA),
    held still with tremor and camera noise. It is a photo, so liveness rightly rejects it."""
    return Scenario.model_validate(
        {
            "name": "astronaut",
            "description": "photo of astronaut Eileen Collins (scikit-image, public domain): a photo attack",
            "photo": {"image": BUILTIN_ASTRONAUT, "roi": (0.05, 0.0, 0.75, 0.75)},
            "id_image": {"path": BUILTIN_ASTRONAUT, "roi": (0.25, 0.02, 0.4, 0.45), "card": True},
            "behaviour": {"respond_to": "none"},
            "output": {"fps": 15.0, "noise_std": 2.5},
        }
    )


BUILTIN_SCENARIOS = {"astronaut": builtin_astronaut_scenario}


def scenario_path(ref: str) -> Path | None:
    """The YAML file ``ref`` names: a path, or a name under config/scenarios/ (with or without .yaml)."""
    p = Path(ref).expanduser()
    if p.is_file():
        return p
    for cand in (SCENARIO_DIR / ref, SCENARIO_DIR / f"{ref}.yaml"):
        if cand.is_file():
            return cand
    return None


def available_scenarios() -> list[str]:
    names = {p.stem for p in SCENARIO_DIR.glob("*.yaml")} if SCENARIO_DIR.is_dir() else set()
    return sorted(names | set(BUILTIN_SCENARIOS))


def parse_scenario_text(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML; errors name the key path and YAML line (a ConfigError)."""
    import yaml
    from pydantic import ValidationError

    from kiosk.config.loader import ConfigIssue, ConfigValidationError, _line_for, _line_map

    try:
        data = yaml.safe_load(text)
        lines = _line_map(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigValidationError(source, [ConfigIssue("", line, f"YAML syntax: {exc}")]) from None
    if not isinstance(data, dict):
        issue = ConfigIssue("", 1, "a scenario is a mapping (name, clips, ...)")
        raise ConfigValidationError(source, [issue])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check spelling; see docs/camera.md)"
            issues.append(ConfigIssue(".".join(str(p) for p in loc), _line_for(lines, loc), msg))
        raise ConfigValidationError(source, issues) from None


def load_scenario(ref: str) -> Scenario:
    """A scenario by path or name (config/scenarios/NAME.yaml, or a built-in such as ``astronaut``).

    Raises CameraError when nothing matches, ConfigError (with YAML lines) when the file is invalid.
    """
    path = scenario_path(ref)
    if path is None:
        stem = Path(ref).stem
        if stem in BUILTIN_SCENARIOS and not Path(ref).suffix:
            return BUILTIN_SCENARIOS[stem]()
        raise CameraError(
            f"actor scenario not found: {ref} (known: {', '.join(available_scenarios())})",
            code="scenario_not_found",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CameraError(f"cannot read scenario {path}: {exc}", code="scenario_not_found") from None
    return parse_scenario_text(text, str(path))
