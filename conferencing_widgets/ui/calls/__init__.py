"""ui.calls feature."""
