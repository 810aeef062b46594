"""Decision records: signed hash-chained audit log, delivery outbox, evidence store and privacy helpers.

Entry point for the app: :func:`kiosk.records.runtime.open_records`. Nothing heavy is imported here.
"""
