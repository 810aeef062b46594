"""Plain-text rendering of a bench report (the dict :func:`kiosk.bench.runner.run_bench` returns)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def _sp(d: dict[str, Any] | None, fmt: str = ".2f") -> str:
    """A spread dict as ``median [min-max]``."""
    if not d:
        return "-"
    if d.get("n", 1) == 1:
        return format(d["median"], fmt)
    return f"{d['median']:{fmt}} [{d['min']:{fmt}}-{d['max']:{fmt}}]"


def _x(d: dict[str, Any] | None) -> str:
    return "-" if not d else _sp(d, ".1f") + "x"


def render_text(rep: dict[str, Any]) -> str:
    m = rep["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items() if v)
    lines = [
        f"ekyc-kiosk bench ({'quick' if rep['quick'] else 'full'}, {rep['duration_s']} s) on {m['host']}: "
        f"{m['cpu_model']}, {m['cores']} cores, Python {m['python']}",
        f"  {libs}",
        f"  load average at start {m['load_average_at_start']}, at end {m.get('load_average_at_end')}",
        "  figures: median [min-max] over repeated runs; speed-ups are dlib / ours measured in this process",
        "",
    ]
    st = rep["stages"]
    if "landmarks" in st:
        lm = st["landmarks"]
        lines += [
            f"landmarks + liveness per 640x480 frame ({lm['frames']} frames x {lm['rounds']} rounds;"
            f" {lm['source']})",
            f"  ours: landmarker {_sp(lm['landmarker_ms_mean'])} ms"
            f" + liveness {_sp(lm['liveness_ms_mean'])} ms"
            f" = mean {_sp(lm['total_ms_mean'])} ms, p95 {_sp(lm['total_ms_p95'])} ms,"
            f" {_sp(lm['fps_sustained'], '.0f')} fps",
        ]
        if lm.get("dlib_ms_mean"):
            lines.append(
                f"  dlib HOG + 5 points: mean {_sp(lm['dlib_ms_mean'])} ms, p95 {_sp(lm['dlib_ms_p95'])} ms,"
                f" {_sp(lm['dlib_fps'], '.0f')} fps (face found in {lm['dlib_found_rate']:.0%} of frames)"
            )
            lines.append(
                f"  speed-up: whole ours {_x(lm['speedup_total_vs_dlib'])}, landmarker alone"
                f" {_x(lm['speedup_landmarker_vs_dlib'])}"
            )
        lines.append("")
    if "document" in st:
        db = st["document"]
        lines.append(
            f"document auto-capture per 640x480 frame ({db['frames']} frames x {db['rounds']} rounds;"
            f" {db['source']}; no dlib counterpart)"
        )
        for r in db["rows"]:
            cap, faster = r["captured_after_s"], r["speedup_vs_default"]
            lines.append(
                f"  analysis width {r['analysis_width_px']} px: tracker mean {_sp(r['tracker_ms_mean'])} ms,"
                f" p95 {_sp(r['tracker_ms_p95'])} ms (outline finder {_sp(r['outline_ms_mean'])} ms);"
                f" {_sp(r['share_of_frame_interval'])} of a 15 fps frame interval;"
                + (f" captured {cap:.2f} s after the prompt" if cap is not None else " no capture")
                + (f"; {_x(faster)} faster than the default" if faster else "")
            )
        lines.append("")
    if "embed" in st:
        eb = st["embed"]
        lines.append(
            f"embedding per face ({eb['chips']} chips x {eb['repeats']} repeats x {eb['rounds']} rounds;"
            f" {eb['chip_source']})"
        )
        lines.append(f"  {'model':<14}{'thr':>4}  {'median ms':<22}{'p95 ms':<10}{'x dlib':<18}")
        for r in eb["rows"]:
            lines.append(
                f"  {'litert ' + r['variant']:<14}{r['threads']:>4}  {_sp(r['median_ms']):<22}"
                f"{r['p95_ms']['median']:<10.2f}{_x(r['speedup_vs_dlib']):<18}"
            )
        if eb.get("dlib_median_ms"):
            lines.append(
                f"  {'dlib resnet':<14}{'1':>4}  {_sp(eb['dlib_median_ms']):<22}"
                f"{eb['dlib_p95_ms']['median']:<10.2f}{'1.0x':<18}"
            )
        lines.append("")
    if "verify" in st:
        vb = st["verify"]
        lines.append(
            f"verify, ID image vs selfie, decode to decision ({vb['repeats']} repeats, model {vb['model']})"
        )
        for p in vb["pairs"]:
            d = p.get("dlib_ms")
            lines.append(
                f"  {p['name']}: {p['id_image']} vs {p['selfie']}\n"
                f"    ours {p['ours_ms']['median']:.0f} ms (p95 {p['ours_ms']['p95']:.0f};"
                f" {', '.join(f'{k} {v:.0f}' for k, v in p['ours_parts_ms'].items())}; distance"
                f" {p['ours_distance']:.3f}, match {p['ours_match']})"
                + (
                    f"; dlib {d['median']:.0f} ms (p95 {d['p95']:.0f}; distance {p['dlib_distance']:.3f});"
                    f" speed-up {_x(p['speedup_vs_dlib'])}"
                    if d
                    else ""
                )
            )
        lines.append("")
    if "session" in st:
        sb = st["session"]
        lines += [
            f"replayed session ({sb['applicant']}, {sb['repeats']} sessions, realtime off)",
            f"  {_sp(sb['simulated_s'], '.1f')} simulated s per session; real-time factor"
            f" {_x(sb['realtime_factor'])} excluding model load, {_x(sb['realtime_factor_with_load'])}"
            f" including it (load {_sp(sb['build_wall_s'])} s);"
            f" per CPU second {_x(sb['realtime_factor_cpu'])}",
            "  decisions: " + ", ".join(str(r["decision"]) for r in sb["runs"]),
            "",
        ]
    if "coldstart" in st:
        cb = st["coldstart"]
        lines.append(
            f"cold start to first frame shown: {_sp(cb['cold_start_s'], '.2f')} s  ({cb['command']})"
        )
        for i, r in enumerate(cb["runs"], 1):
            lines.append(
                f"  run {i}: {r['cold_start_s']} s (interpreter up at {r['interpreter_s']} s; build: imports,"
                f" models, camera, display {r['build_s']} s, done at {r['build_end_s']} s)"
            )
        if cb.get("peak_rss_command"):
            lines.append(
                f"peak resident memory of a whole session: {cb['peak_rss_mb']} MiB (VmHWM)"
                f" (decision {cb['peak_rss_session_decision']}; {cb['peak_rss_command']})"
            )
            if cb.get("exit_rss_file_mb") is not None:
                lines.append(
                    f"  resident at its exit: {cb['exit_rss_anon_mb']} MiB private,"
                    f" {cb['exit_rss_file_mb']} MiB mapped from files (mostly library code)"
                )
        lines.append("")
    if "soak" in rep:
        lines += [*soak_lines(rep["soak"]), ""]
    # dlib is loaded only by the stages with a dlib baseline
    with_dlib = rep.get("dlib") and {"landmarks", "embed", "verify"} & set(st)
    lines.append(
        f"this bench process: peak resident memory {rep['bench_peak_rss_mb']:.0f} MiB"
        + (" (dlib loaded too)" if with_dlib else "")
    )
    lines.append("")
    lines.append("targets (this machine):")
    for t in rep["targets"]:
        verdict = {True: "PASS", False: "FAIL", None: "not measured"}[t["passed"]]
        val = "-" if t["value"] is None else f"{t['value']:g}"
        lines.append(f"  {verdict:<13}{t['description']}: {val} (target {t['target']})")
    for note in rep["missing"]:
        lines.append(f"missing: {note}")
    for stage, err in rep["errors"].items():
        lines.append(f"ERROR in {stage}: {err}")
    for stage, d in st.items():
        for note in d.get("notes") or []:
            lines.append(f"note ({stage}): {note}")
    return "\n".join(lines)


def soak_lines(s: dict[str, Any]) -> list[str]:
    start, end = s.get("start") or {}, s.get("end") or {}
    floor = s.get("rss_floor_mb") or (start.get("rss_mb"), None, end.get("rss_mb"))
    g = s["growth"]

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:+.1%}"

    out = [
        f"soak: {s['sessions_done']} of {s['sessions_requested']} sessions of {s['applicant']}"
        " in one process,"
        f" {s['wall_s']:.0f} s wall for {s['simulated_s']:.0f} simulated s",
        f"  after session 1 -> after session {end.get('sessions_done')}:"
        f" RSS {start.get('rss_mb')} -> {end.get('rss_mb')} MiB, floor {floor[0]} -> {floor[2]} MiB"
        f" ({pct(g['rss_mb'])}),"
        f" fds {start.get('fds')} -> {end.get('fds')} ({pct(g['fds'])}),"
        f" threads {start.get('threads')} -> {end.get('threads')} ({pct(g['threads'])})",
        f"  RSS floor over the second half:"
        f" {pct(s.get('second_half_rss_growth'))}; process peak {s['peak_rss_mb']} MiB",
        "  decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(s["decisions"].items())),
    ]
    for k in s["leaks"]:
        out.append(f"  SOAK FAILURE: {k} grew {pct(g[k])} (more than 5 %)")
    if s["bona_fide"]:
        for f in s["failures"]:
            out.append(
                f"  SOAK FAILURE: session {f['session']} (seed {f['seed']}) ended {f['decision']}:"
                f" {f['reasons']}; challenges: {'; '.join(f.get('challenges') or []) or '-'}"
            )
    out.append(f"  soak {'OK' if s['ok'] else 'FAILED'}")
    for n in s.get("notes") or []:
        out.append(f"  note: {n}")
    return out
