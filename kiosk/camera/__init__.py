"""Camera sources. Every source yields :class:`~kiosk.camera.frame.Frame` objects and never draws.

Start at :mod:`kiosk.camera.factory` (``open_source``, ``resilient_source``, ``parse_source_uri``);
the contract is in :mod:`kiosk.camera.source`; ``docs/camera.md`` describes every source, the
virtual applicant (``actor:``) and fault injection. Nothing is imported here, so importing the
package stays cheap (OpenCV and picamera2 load only when a source opens).
"""
