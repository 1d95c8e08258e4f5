"""chat feature."""
