"""HTML of the views from Jinja2 templates with autoescape: every value is escaped unless marked safe.

Templates live beside the views of their feature: ``ui/<feature>/templates/<name>.html.j2`` is rendered with
``render("<feature>/templates/<name>.html.j2", **values)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jinja2

from conferencing_widgets.core import templating, timefmt


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one template environment of the UI (autoescape on, undefined values are errors)."""
    env = templating.environment("ui")
    # Times on screen: `{{ t|local_time }}` in the viewer's zone and language, `{{ t|iso_utc }}` for datetime="".
    env.filters["local_time"] = timefmt.date_time
    env.filters["iso_utc"] = iso_utc
    return env


def iso_utc(moment: datetime) -> str:
    """ISO 8601 with the zone stated (the store's naive datetimes are UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def render(template: str, /, **values: Any) -> str:
    """Safe HTML of ``template`` (a path relative to ``conferencing_widgets/ui``)."""
    return environment().get_template(template).render(**values)
