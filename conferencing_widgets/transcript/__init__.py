"""transcript feature."""
