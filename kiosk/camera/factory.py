"""The one place sources are made: from a camera config model or a URI string.

URIs (``--source`` on the command line):

=========================  ===============================================================
``picamera2[:N]``          libcamera camera N (default 0), Raspberry Pi
``opencv[:N]``             V4L2 ``/dev/videoN`` (default 0)
``opencv:/dev/video2``     a V4L2 device node; ``opencv:clip.mp4`` reads a file like a camera
``gst:PIPELINE``           a GStreamer pipeline ending in ``appsink`` (Jetson CSI camera)
``file:PATH``              replay a video file (mp4/avi/mov/3gp/mpg/gif) at its own pace
``dir:PATH``               play a folder of images in natural name order
``actor:SCENARIO``         the virtual applicant (a scenario path or a name in config/scenarios/)
=========================  ===============================================================

Options may follow a ``?`` as ``key=value`` pairs joined by ``&``: any field of that camera's
config model (``realtime=0``, ``loop=1``, ``fps=15``, ``width_px=1280``...) and ``faults``, a
comma-separated list of ``KIND@AT_S+DURATION_S`` (e.g. ``faults=drop@5+3,black@12+1``).
A ``?`` not followed by known options is part of the path or pipeline.

:func:`open_source` builds and opens; :func:`build_source` only builds; :func:`resilient_source`
wraps in a :class:`~kiosk.camera.reopening.ReopeningSource` that never raises for a missing camera.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from kiosk.camera.source import FrameSource
from kiosk.clock import Clock, MonotonicClock
from kiosk.config.camera import (
    ActorCamera,
    CameraConfig,
    CameraModel,
    DirCamera,
    FileCamera,
    GstCamera,
    OpenCVCamera,
    Picamera2Camera,
)
from kiosk.errors import CameraError, ConfigError

if TYPE_CHECKING:
    from kiosk.camera.actor import ActorSource

log = logging.getLogger(__name__)

SCHEMES = ("picamera2", "opencv", "gst", "file", "dir", "actor")
_NUM = r"\d+(?:\.\d*)?"
_FAULT_RE = re.compile(rf"^(?P<kind>[a-z]+)@(?P<at>{_NUM})\+(?P<dur>{_NUM})(?::(?P<level>{_NUM}))?$")
_OPTS_RE = re.compile(r"\?([a-z_]+=[^&?=]*(?:&[a-z_]+=[^&?=]*)*)$")
_USAGE = (
    "expected one of picamera2[:N], opencv[:N|:/dev/videoN|:FILE], gst:PIPELINE, file:PATH, dir:PATH, "
    "actor:SCENARIO (options after '?', e.g. file:clip.mp4?realtime=0&faults=drop@5+3)"
)


def _parse_faults(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = _FAULT_RE.match(part)
        if m is None:
            raise ConfigError(f"bad fault {part!r}: write KIND@AT_S+DURATION_S[:LEVEL], e.g. drop@5+3")
        spec: dict[str, Any] = {"kind": m["kind"], "at_s": float(m["at"]), "duration_s": float(m["dur"])}
        if m["level"] is not None:
            spec["level"] = float(m["level"])
        out.append(spec)
    return out


def _split_options(rest: str, model: type[CameraModel]) -> tuple[str, dict[str, Any]]:
    m = _OPTS_RE.search(rest)
    if m is None:
        return rest, {}
    pairs = [p.split("=", 1) for p in m.group(1).split("&")]
    known = set(model.model_fields) | {"faults"}
    if not all(k in known for k, _ in pairs):
        return rest, {}  # not our options: the '?' belongs to the path
    opts: dict[str, Any] = {}
    for k, v in pairs:
        opts[k] = _parse_faults(v) if k == "faults" else v
    return rest[: m.start()], opts


def parse_source_uri(uri: str) -> CameraModel:
    """The camera config model a URI stands for (see the module docstring). ConfigError if invalid."""
    text = uri.strip()
    scheme, sep, rest = text.partition(":")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown camera source {uri!r}: {_USAGE}")
    models: dict[str, type[CameraModel]] = {
        "picamera2": Picamera2Camera,
        "opencv": OpenCVCamera,
        "gst": GstCamera,
        "file": FileCamera,
        "dir": DirCamera,
        "actor": ActorCamera,
    }
    model = models[scheme]
    rest, opts = _split_options(rest, model)
    data: dict[str, Any] = {"type": scheme}
    if scheme in ("picamera2", "opencv"):
        key = "camera_num" if scheme == "picamera2" else "device"
        if rest.strip():
            if rest.strip().isdigit():
                data[key] = int(rest)
            elif scheme == "opencv":
                data["device_path"] = rest
            else:
                raise ConfigError(f"bad camera number in {uri!r}: picamera2:N takes a number 0-3")
    else:
        if not sep or not rest.strip():
            raise ConfigError(f"camera source {uri!r} needs a value after '{scheme}:': {_USAGE}")
        field = {"gst": "pipeline", "file": "path", "dir": "path", "actor": "scenario"}[scheme]
        data[field] = rest
    data.update(opts)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid camera source {uri!r}: {problems}") from None


def _as_model(cfg_or_uri: Any) -> CameraModel:
    if isinstance(cfg_or_uri, str):
        return parse_source_uri(cfg_or_uri)
    if isinstance(cfg_or_uri, dict):
        try:
            return TypeAdapter(CameraConfig).validate_python(cfg_or_uri)  # type: ignore[no-any-return]
        except ValidationError as exc:
            raise ConfigError(f"invalid camera config: {exc.errors()[0]['msg']}") from None
    if isinstance(cfg_or_uri, (OpenCVCamera, Picamera2Camera, GstCamera, FileCamera, DirCamera, ActorCamera)):
        return cfg_or_uri
    raise ConfigError(f"not a camera config or URI: {type(cfg_or_uri).__name__}")


def build_source(cfg_or_uri: Any, *, clock: Clock | None = None) -> FrameSource:
    """Construct (but do not open) the source for a config model, a dict or a URI.

    Config errors (bad URI, invalid or missing scenario file) raise here; device and media
    problems raise at ``open()``. Configured ``faults`` wrap the source in a FaultySource.
    """
    cfg = _as_model(cfg_or_uri)
    clk: Clock = clock if clock is not None else MonotonicClock()
    src: FrameSource
    faults = list(cfg.faults)
    if isinstance(cfg, OpenCVCamera):
        from kiosk.camera.opencv_source import OpenCVSource

        src = OpenCVSource(cfg, clk)
    elif isinstance(cfg, Picamera2Camera):
        from kiosk.camera.picamera2_source import Picamera2Source

        src = Picamera2Source(cfg, clk)
    elif isinstance(cfg, GstCamera):
        from kiosk.camera.gst_source import GstSource

        src = GstSource(cfg, clk)
    elif isinstance(cfg, FileCamera):
        from kiosk.camera.file_source import FileSource

        src = FileSource(cfg, clk)
    elif isinstance(cfg, DirCamera):
        from kiosk.camera.dir_source import DirSource

        src = DirSource(cfg, clk)
    else:
        from kiosk.camera.actor import ActorSource

        actor = ActorSource.from_config(cfg, clk)
        faults = [*actor.scenario.faults, *faults]
        src = actor
    if faults:
        from kiosk.camera.faults import FaultySource

        src = FaultySource(src, faults, clk, frame_timeout_s=cfg.frame_timeout_s, seed=cfg.fault_seed)
    return src


def open_source(cfg_or_uri: Any, *, clock: Clock | None = None) -> FrameSource:
    """Build and open a source. Raises CameraLost (device absent) or another CameraError saying
    what to install or fix; ConfigError for an invalid URI or scenario."""
    src = build_source(cfg_or_uri, clock=clock)
    try:
        src.open()
    except CameraError:
        src.close()
        raise
    return src


def resilient_source(cfg_or_uri: Any, *, clock: Clock | None = None) -> FrameSource:
    """An opened :class:`~kiosk.camera.reopening.ReopeningSource` around the configured source.

    Config errors raise now; a missing or failing camera never raises here: the first ``read``
    reports CameraLost and the camera is retried every ``reopen_interval_s`` seconds. The same
    inner object is reopened each time, so an actor keeps its state across outages.
    """
    from kiosk.camera.reopening import ReopeningSource

    cfg = _as_model(cfg_or_uri)
    clk: Clock = clock if clock is not None else MonotonicClock()
    inner = build_source(cfg, clock=clk)
    src = ReopeningSource(lambda: inner, clk, cfg.reopen_interval_s, name=inner.info.name)
    src.open()
    return src


def find_actor(source: Any) -> ActorSource | None:
    """The :class:`~kiosk.camera.actor.ActorSource` inside ``source`` (through fault and reopening
    wrappers), or None when the source is not a virtual applicant. The engine prompts it with
    ``on_prompt``."""
    from kiosk.camera.actor import ActorSource

    seen = 0
    while source is not None and seen < 8:
        if isinstance(source, ActorSource):
            return source
        source = getattr(source, "inner", None) or getattr(source, "last_inner", None)
        seen += 1
    return None
