"""ipywidgets views: one sub-package per feature area, plus the app that holds them."""

from conferencing_widgets.ui.app import ConferencingApp

__all__ = ["ConferencingApp"]
