"""The command line across processes: ``--coordinator``, ``--num-processes``, ``--process-id``
and ``--shard``, and joining JAX's distributed runtime before the model is loaded.

Run the same command on every host, with its own ``--process-id``::

    KERAS_BACKEND=jax lrfind model.keras data.npz --coordinator 10.0.0.1:1234 \\
        --num-processes 2 --process-id 0        # on 10.0.0.1; --process-id 1 on the other

Without the options, the environment variables ``keras.distribution.initialize`` reads
(`lrfind._defaults.PROCESS_ENV`) start a multi-process run too. Every process reads DATA
and takes its own slice (``--shard auto``), or reads its own DATA (``--shard given``); the
range test is one run over the global batch ``--batch-size``; the chief (process 0) shows
the progress, prints the report and writes the files, the others print nothing and exit
with the same code.

Imports only Typer and `lrfind._defaults` up front, like `lrfind.cli`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from lrfind._defaults import CLI_NAMES, SHARD_MODES, check_process_options, check_shard

PANEL = "More than one process"


def _option(help: str, *names: str, **settings: Any) -> Any:
    return typer.Option(*names, help=help, rich_help_panel=PANEL, show_default=False,
                        **settings)


Coordinator = Annotated[str | None, _option(
    "HOST:PORT of process 0, where the processes meet (JAX's distributed runtime; needs "
    "KERAS_BACKEND=jax). Default: $KERAS_DISTRIBUTION_JOB_ADDRESSES.", metavar="HOST:PORT",
)]
NumProcesses = Annotated[int | None, _option(
    "How many processes run this range test together (default: "
    "$KERAS_DISTRIBUTION_NUM_PROCESSES).", metavar="N",
)]
ProcessId = Annotated[int | None, _option(
    "This process's id, 0..N-1; 0 reports and writes the files (default: "
    "$KERAS_DISTRIBUTION_PROCESS_ID).", metavar="I",
)]
Shard = Annotated[str, _option(
    "auto: every process reads the same DATA and takes its own slice; given: DATA is this "
    "process's own shard. --batch-size is the global batch either way.", metavar="auto|given",
)]
DEFAULT_SHARD = SHARD_MODES[0]


@dataclass(frozen=True)
class ProcessRequest:
    """The options as given (checked by `join`)."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    shard: str = DEFAULT_SHARD
    chief: bool = True
    multi: bool = False


def join(request: ProcessRequest | None) -> ProcessRequest:
    """Check the options and, for more than one process, join the others (before the model
    is loaded: its variables are laid out over all the processes' devices). A ValueError
    says what to fix (the command line's exit 2)."""
    request = ProcessRequest() if request is None else request
    options = check_process_options(request.coordinator, request.num_processes,
                                    request.process_id, CLI_NAMES, env=dict(os.environ))
    check_shard(request.shard, 1, CLI_NAMES)
    if options is None or options.num_processes == 1:
        return request
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "jax":
        raise ValueError(
            f"a range test on {options.num_processes} processes runs on Keras's JAX backend "
            f"(KERAS_BACKEND is {backend!r}): run KERAS_BACKEND=jax lrfind ... on every "
            "process (pip install jax)."
        )
    from lrfind.processes import initialize

    with _native_stdout_to_stderr():  # gloo announces its connections on stdout (--json)
        topology = initialize(options.coordinator, options.num_processes, options.process_id)
    return ProcessRequest(options.coordinator, options.num_processes, options.process_id,
                          request.shard, chief=topology.chief, multi=topology.multi)


@contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr meanwhile (what C++ libraries print goes there)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def shard(request: ProcessRequest | None) -> str | None:
    """``find(shard=...)``: the option across processes, None on one."""
    return request.shard if request is not None and request.multi else None


def writes(request: ProcessRequest | None) -> bool:
    """True in the process that shows progress, reports and writes files."""
    return request is None or request.chief


def worker_exit(result: Any) -> int:
    """The exit code of a process that is not the chief: the chief's, without its output."""
    from lrfind.cli_report import EXIT_NO_SUGGESTION

    suggestion = result.suggestion
    return 0 if suggestion.reliable and suggestion.lr is not None else EXIT_NO_SUGGESTION
