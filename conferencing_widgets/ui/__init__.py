"""ipywidgets views: one module per area, plus the app that holds them."""

from .app import ConferencingApp, register_feature
from .dashboard import conferencing_dashboard

__all__ = ["ConferencingApp", "conferencing_dashboard", "register_feature"]
