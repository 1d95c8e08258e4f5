"""whiteboard feature."""
