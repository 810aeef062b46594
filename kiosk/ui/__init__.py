"""The only pygame code: display, theme, one scene per state, rendered from a view model."""
