"""voila feature."""
