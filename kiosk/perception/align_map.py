"""Fitted map from MediaPipe FaceMesh vertices to dlib's 5 shape-predictor points. GENERATED FILE.

Written by ``scripts/fit_landmark_map.py --write`` (rerun it to refit; do not edit by hand).
Each entry, in dlib's part order (image-right eye outer, inner; image-left eye outer, inner;
below the nose), is (mesh vertex indices, convex weights (>= 0, sum 1), offset (x, y)) in the
face-normalised frame of :func:`kiosk.perception.align.mesh_frame` (150 px chip pixels).

How it was fitted: dlib's HOG detector + shape_predictor_5_face_landmarks.dat and our
FaceLandmarker (IMAGE mode) on the same LFW images; greedy choice of vertices among the 30
nearest non-iris vertices, convex weights and an offset by least squares pooled over x
and y. FIT_INFO holds the data size and the held-out residuals.
"""

from __future__ import annotations

MESH_TO_DLIB5: tuple[tuple[tuple[int, ...], tuple[float, ...], tuple[float, float]], ...] = (
    ((466, 254, 467, 385), (0.301990, 0.284641, 0.313647, 0.099722), (1.5513, 0.0410)),
    ((398, 253, 384, 350), (0.451717, 0.152854, 0.269857, 0.125572), (-2.9829, -0.8727)),
    ((246, 24, 247, 161), (0.259424, 0.317378, 0.212802, 0.210397), (-2.4119, -0.3140)),
    ((173, 23, 159, 232), (0.657049, 0.066080, 0.111970, 0.164901), (1.7020, -0.2990)),
    ((2, 60, 290, 239), (0.663965, 0.125900, 0.149122, 0.061012), (0.0165, 2.7410)),
)

FIT_INFO: dict[str, object] = {
    "fitted_on": "pairsDevTrain.txt: 3409 faces of 2115 people (dlib HOG+sp5 and mesh agree)",
    "date": "2026-11-26",
    "max_vertices": 4,
    "heldout_2fold_by_identity_seed": 1,
    "residual_raw_vertices": {
        "mean_point_error_chip_px": [1.81, 1.66, 1.66, 2.1, 2.3],
        "mean_all_points_chip_px": 1.91,
        "chip_rms_shift_px_mean": 2.4,
        "chip_rms_shift_px_p95": 4.91,
    },
    "residual_fitted_heldout": {
        "mean_point_error_chip_px": [1.58, 1.3, 1.59, 1.27, 1.69],
        "mean_all_points_chip_px": 1.48,
        "chip_rms_shift_px_mean": 1.96,
        "chip_rms_shift_px_p95": 4.35,
    },
}
