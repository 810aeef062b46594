"""``ekyc-kiosk bench``: every stage and the whole session measured against baselines, plus a soak test.

One module per measurement, each returning a typed result with ``as_dict()`` for the JSON report:

* :mod:`.landmarks` - FaceLandmarker (VIDEO) + liveness signals per 640x480 frame vs dlib HOG + 5 points;
* :mod:`.document` - camera document auto-capture per 640x480 frame, at two analysis widths;
* :mod:`.embed` - the LiteRT embedder variants vs dlib's ResNet, in rounds of :mod:`.embed_round`;
* :mod:`.verify` - a whole still ``verify`` (decode, detect, align, chip, embed, compare) vs dlib's pipeline;
* :mod:`.session` - a replayed kiosk session as a multiple of real time;
* :mod:`.coldstart` - process start to the first camera frame on screen, and peak resident memory;
* :mod:`.soak` - many back-to-back sessions in one process: memory, descriptors, threads, decisions.

Shared pieces: :mod:`.stats` (medians and spreads), :mod:`.machine` (what ran it), :mod:`.applicant`
(the simulated applicant and the bench config), :mod:`.targets` (the issue's pass/fail targets),
:mod:`.runner` (runs the chosen stages) and :mod:`.report` (plain-text output). Nothing heavy is imported
here: each stage imports its libraries when it runs.
"""
