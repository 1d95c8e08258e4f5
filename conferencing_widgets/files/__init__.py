"""files feature."""
