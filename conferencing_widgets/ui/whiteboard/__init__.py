"""ui.whiteboard feature."""
