"""export feature."""
