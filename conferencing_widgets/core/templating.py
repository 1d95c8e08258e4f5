"""The Jinja2 environment every HTML (and Markdown) template of the kit renders in.

One set of rules for the views, the transcripts and the sign-off bundle: autoescape unless a caller says otherwise,
undefined values are errors, block tags leave no stray whitespace, and ``{{ _("...") }}`` / ``{% trans %}`` are
translated in the language active when a template renders (``core.i18n``).
"""

from __future__ import annotations

from typing import Any

import jinja2

from conferencing_widgets.core.i18n import _, ngettext


def environment(templates: str, *, autoescape: Any = True, **options: Any) -> jinja2.Environment:
    """An environment for the templates under ``conferencing_widgets/<templates>``; ``options`` (``finalize``,
    ``keep_trailing_newline``...) go to ``jinja2.Environment``. Callers add their own filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conferencing_widgets", templates),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        **options,
    )
    env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env
