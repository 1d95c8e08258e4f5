"""``--help`` of a click command in the active language, and the Babel extractor of its texts.

Click builds help from English docstrings and ``help=`` texts. The classes here pass them through the gettext
catalogue when the help is formatted, with click's own headings ("Usage:", "Options", "[default: ...]").
``help_pieces`` cuts a help text into messages; the renderer and the extractor both use it, so the catalogue
holds exactly what is looked up:

- a paragraph that click rewraps is one message, its lines joined by single spaces;
- in a ``\\b`` block (printed as written) each unindented line is a message; indented lines are literal
  (command examples, file contents) except a trailing ``  # comment``, which is a message.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from inspect import cleandoc
from typing import IO, Any

import click

from conferencing_widgets.core.i18n import _

RAW = "\b"
"""click's marker line of a block it must not rewrap."""
COMMENT = re.compile(r"(?P<code>\s+\S.*?\s{2,}#\s+)(?P<comment>\S.*)")
CLICK_TEXTS = ("Commands", "Options", "Positional arguments", "Show this message and exit.")
"""click's own texts that reach the formatter in English: section names and the help option's help."""


def help_pieces(text: str | None) -> Iterator[tuple[bool, str]]:
    """``(translatable, piece)`` pairs whose pieces, joined, are the help text as click prints it."""
    if not text:
        return
    for number, paragraph in enumerate(cleandoc(text).partition("\f")[0].split("\n\n")):
        if number:
            yield False, "\n\n"
        lines = paragraph.split("\n")
        if lines[0].strip() != RAW:
            yield True, " ".join(line.strip() for line in lines)
            continue
        for index, line in enumerate(lines):
            if index:
                yield False, "\n"
            comment = COMMENT.fullmatch(line)
            if comment:
                yield False, comment["code"]
                yield True, comment["comment"]
            else:
                yield not line[:1].isspace() and line.strip() != RAW, line


def help_messages(text: str | None) -> Iterator[str]:
    """The msgids of a help text."""
    return (piece for translatable, piece in help_pieces(text) if translatable and piece)


def translate_help(text: str | None) -> str:
    """The help text in the active language (English where the catalogue has no entry)."""
    return "".join(_(piece) if translatable and piece else piece for translatable, piece in help_pieces(text))


class HelpFormatter(click.HelpFormatter):
    """Translates the usage prefix and the section names click passes in English."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage:") + " " if prefix is None else prefix)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        with super().section(_(name)):
            yield


class HelpContext(click.Context):
    formatter_class = HelpFormatter


class HelpCommand(click.Command):
    """A command whose help, short help and option help are translated when formatted."""

    context_class = HelpContext

    def _translated(self) -> click.Command:
        # A throwaway twin holding the translated texts, so click's own layout rules (first sentence of
        # the short help, the deprecation label) apply unchanged.
        return click.Command(
            self.name,
            help=translate_help(self.help),
            short_help=translate_help(self.short_help) or None,
            deprecated=self.deprecated,
        )

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._translated().format_help_text(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self._translated().get_short_help_str(limit)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [row for param in self.get_params(ctx) if isinstance(param, click.Option) and (row := _row(param, ctx))]
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)


class HelpGroup(HelpCommand, click.Group):
    """A group of ``HelpCommand``s (``@group.command()``) that lists them with translated short help."""

    command_class = HelpCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)


def _row(option: click.Option, ctx: click.Context) -> tuple[str, str] | None:
    """click's ``Option.get_help_record`` with the help and the ``[default: ...; required]`` note translated."""
    record = option.get_help_record(ctx)
    if record is None:
        return None
    extra = option.get_help_extra(ctx)
    notes = []
    if "envvars" in extra:
        notes.append(_("env var: {var}").format(var=", ".join(extra["envvars"])))
    if "default" in extra:
        notes.append(_("default: {default}").format(default=extra["default"]))
    if "range" in extra:
        notes.append(extra["range"])
    if "required" in extra:
        notes.append(_("required"))
    text = translate_help(option.help)
    if notes:
        note = "; ".join(notes)
        text = f"{text}  [{note}]" if text else f"[{note}]"
    return record[0], text


def help_texts(group: click.Group) -> Iterator[tuple[int, str]]:
    """``(line, msgid)`` of every text the group's help pages look up in the catalogue."""
    for command in (group, *group.commands.values()):
        line = command.callback.__code__.co_firstlineno if command.callback else 0
        for text in (
            command.help,
            command.short_help,
            *(p.help for p in command.params if isinstance(p, click.Option)),
        ):
            yield from ((line, message) for message in help_messages(text))
    yield from ((0, text) for text in CLICK_TEXTS)


def extract(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """Babel extraction method for the module of a click group: its ``_()`` calls and its help texts, as
    ``(line, keyword, message, comments)``.

    Babel gives a file to the first method whose pattern matches, so this one runs the Python extractor too.
    The group is imported by name (babel.cfg option ``command``, ``module:attribute``).
    """
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)  # type: ignore[arg-type]
    module, _sep, attribute = str(options.get("command", "conferencing_widgets.cli:main")).partition(":")
    group = getattr(importlib.import_module(module), attribute)
    yield from ((line, None, message, []) for line, message in help_texts(group))
