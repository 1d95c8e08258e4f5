"""The kernel manager Voilà uses (``voila.json``: ``VoilaConfiguration.multi_kernel_manager_class``).

jupyter_server's ``AsyncMappingKernelManager`` with one change: a kernel started for the preheated pool does not
get the URL of the visitor whose arrival triggered the refill. Voilà passes that URL, token included, into the
environment of the *next* pool kernel, which then waits, for minutes or hours, to serve somebody else: anyone who
can read that process's environment would find the previous visitor's link. Our dashboards read the request only
through ``ui.dashboard.request_query_string()``, which a preheated kernel receives over Voilà's request-info socket,
so the variable is never needed there.

This module is imported by the Voilà *server* process; it imports nothing heavy of its own.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from voila.utils import ENV_VARIABLE

# Voilà's name for the variable holding the request URL (looked up so that the name is defined in one place).
VISITOR_URL_VARIABLES = frozenset(str(m.value) for m in ENV_VARIABLE if m.name.endswith("REQUEST_URL"))
PREHEAT_VARIABLE = str(ENV_VARIABLE.VOILA_PREHEAT.value)


class PoolKernelManager(AsyncMappingKernelManager):
    """``AsyncMappingKernelManager`` whose preheated kernels never carry a previous visitor's URL."""

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        env = kwargs.get("env")
        if isinstance(env, dict) and env.get(PREHEAT_VARIABLE) == "True":
            kwargs["env"] = {k: v for k, v in env.items() if k not in VISITOR_URL_VARIABLES}
        return await super().start_kernel(*args, **kwargs)
