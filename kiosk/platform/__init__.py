"""Appliance glue: systemd notify/watchdog, health probes and config reload. Nothing heavy at import."""
