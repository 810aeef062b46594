"""Runtime plumbing between the pure engine and the outside world: worker, perception pump, event log."""
