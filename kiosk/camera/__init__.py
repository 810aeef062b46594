"""Camera sources. Every source yields :class:`~kiosk.camera.frame.Frame` objects and never draws."""
