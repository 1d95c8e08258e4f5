"""ui.files feature."""
