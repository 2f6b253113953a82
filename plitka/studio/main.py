"""`plitka studio`: choose the backend (a Cog server given, one started here, or Replicate) and serve."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from plitka.studio.backends import Backend, BackendError, CogBackend, ReplicateBackend, local_api
from plitka.studio.predictions import PredictionStore
from plitka.studio.server import run_studio


def studio_main(host: str, port: int, api: str | None, replicate: str | None, exit_with_parent: bool) -> int:
    if api and replicate:
        raise SystemExit("plitka studio: give --api or --replicate, not both")
    try:
        return _serve(host, port, api, replicate, exit_with_parent)
    except BackendError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _serve(host: str, port: int, api: str | None, replicate: str | None, exit_with_parent: bool) -> int:
    # `kill` (SIGTERM) ends the studio as Ctrl-C does, so that a Cog server it started is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    store = PredictionStore()
    parent = os.getppid()
    with ExitStack() as stack:
        backend: Backend
        if replicate:
            backend = ReplicateBackend(replicate, os.environ.get("REPLICATE_API_TOKEN", ""), store)
        else:
            if not api:
                log_path = Path(tempfile.gettempdir()) / f"plitka-studio-api-{os.getpid()}.log"
                print(f"starting plitka serve for the studio (log: {log_path}) ...", flush=True)
                api = stack.enter_context(local_api(log_path))
            backend = CogBackend(api, store)
        run_studio(
            backend,
            store,
            host,
            port,
            should_stop=(lambda: os.getppid() != parent) if exit_with_parent else None,
        )
    return 0
