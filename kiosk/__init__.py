"""eKYC kiosk: on-device ID portrait, face verification and challenge liveness.

Nothing heavy is imported here; backends import their libraries when they are built.
"""

__version__ = "0.1.0"
