"""One module per ``ekyc-kiosk`` sub-command; each defines ``register(subparsers)``."""
