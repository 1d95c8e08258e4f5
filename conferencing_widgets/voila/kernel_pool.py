"""The kernel manager Voilà uses (``voila.json``: ``VoilaConfiguration.multi_kernel_manager_class``).

jupyter_server's ``AsyncMappingKernelManager`` with two changes.

**Preheated kernels never carry a visitor's URL.** Voilà passes the URL of the visitor whose arrival triggered a
pool refill, token included, into the environment of the *next* pool kernel, which then waits, for minutes or
hours, to serve somebody else: anyone who can read that process's environment would find the previous visitor's
link. Our dashboards read the request only through ``voila.dashboard.request_query_string()``, which a preheated
kernel receives over Voilà's request-info socket, so the variable is never needed there.

**Abandoned pages end.** jupyter_server culls a kernel only after ``cull_idle_timeout`` seconds without *activity*,
and every widget update the app sends counts as activity, also while nobody is connected (jupyter_server buffers
those messages for a reconnect). So the kernel of a page that vanished without its unload beacon (crashed tab, a
phone off the network) lived as long as its conversations stayed busy: 18-25 min in the field. Here a kernel that
has had **no websocket connection** for ``abandon_timeout`` seconds (default: ``cull_idle_timeout``) is shut down
whatever its activity. Connections are what jupyter_server already counts (``notify_connect`` /
``notify_disconnect``, exposed as ``connections`` in ``/api/kernels``); a peer that vanished without closing its
TCP connection is closed by the websocket ping (``ws_ping_interval``, timeout 3 pings), so it counts as gone
within ``abandon_timeout`` + ~3 ping intervals. An open page keeps its connection, so an idle open page is never
culled by this rule (and ``cull_connected: false`` keeps the activity rule off it too). Preheated kernels waiting
in Voilà's pool are excluded before this class is asked (Voilà's own ``cull_kernel_if_idle`` returns early for
them). A kernel that never had a connection (handed to a page that crashed while loading) starts its clock at the
first cull pass that sees it idle, so a cold kernel still executing the notebook for its page is left alone.

This module is imported by the Voilà *server* process; it imports nothing heavy of its own.
"""

from __future__ import annotations

import time
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float
from voila.utils import ENV_VARIABLE

from conferencing_widgets.voila.kernel_ws import end_kernel_connections

# Voilà's name for the variable holding the request URL (looked up so that the name is defined in one place).
VISITOR_URL_VARIABLES = frozenset(str(m.value) for m in ENV_VARIABLE if m.name.endswith("REQUEST_URL"))
PREHEAT_VARIABLE = str(ENV_VARIABLE.VOILA_PREHEAT.value)


class PoolKernelManager(AsyncMappingKernelManager):
    """``AsyncMappingKernelManager`` whose preheated kernels carry no visitor's URL and whose abandoned kernels end."""

    abandon_timeout = Float(
        -1.0,
        config=True,
        help="Seconds a kernel may stay without any websocket connection before it is shut down, however busy. "
        "Negative: the same as cull_idle_timeout; 0: never (only the idle rule culls). Checked every cull_interval.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # kernel id -> monotonic time since which it has had no connection (absent: connected, or not seen yet).
        self._unconnected_since: dict[str, float] = {}

    @property
    def abandon_after(self) -> float:
        """``abandon_timeout`` with its default resolved (0: the rule is off)."""
        return float(self.cull_idle_timeout) if self.abandon_timeout < 0 else float(self.abandon_timeout)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        env = kwargs.get("env")
        if isinstance(env, dict) and env.get(PREHEAT_VARIABLE) == "True":
            kwargs["env"] = {k: v for k, v in env.items() if k not in VISITOR_URL_VARIABLES}
        return await super().start_kernel(*args, **kwargs)

    def notify_connect(self, kernel_id: str) -> None:
        super().notify_connect(kernel_id)
        self._unconnected_since.pop(kernel_id, None)

    def notify_disconnect(self, kernel_id: str) -> None:
        super().notify_disconnect(kernel_id)
        if self._kernel_connections.get(kernel_id, 0) <= 0:
            self._unconnected_since[kernel_id] = time.monotonic()

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Shut the kernel down, then tell its pages (open sockets) that it is gone (issue 16)."""
        await super().shutdown_kernel(kernel_id, *args, **kwargs)
        told = end_kernel_connections(kernel_id)
        if told:
            self.log.info("Told %d page(s) that kernel %s is gone.", told, kernel_id)

    def remove_kernel(self, kernel_id: str) -> Any:
        self._unconnected_since.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """The idle rule of jupyter_server, plus: a kernel unconnected for ``abandon_after`` seconds is shut down."""
        after = self.abandon_after
        kernel = self._kernels.get(kernel_id)
        if after > 0 and kernel is not None and self._kernel_connections.get(kernel_id, 0) <= 0:
            if kernel_id not in self._unconnected_since and getattr(kernel, "execution_state", None) == "idle":
                self._unconnected_since[kernel_id] = time.monotonic()
            alone = time.monotonic() - self._unconnected_since.get(kernel_id, time.monotonic())
            if alone >= after:
                self.log.warning("Culling abandoned kernel %s: no connection for %d s.", kernel_id, alone)
                await self.shutdown_kernel(kernel_id)
                return
        await super().cull_kernel_if_idle(kernel_id)
