"""The session engine: states (Enum), events and effects (dataclasses), and the pure ``step`` function.

``step(state, ctx, event, now, cfg) -> Transition`` never does I/O, never reads a clock and never draws
randomness: the app feeds it events (frames seen, worker results, key presses, camera loss) with the
injected clock's ``now`` and carries out the effects it returns.
"""
