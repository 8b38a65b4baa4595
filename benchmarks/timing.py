"""Timing two implementations fairly on a machine that may be busy.

``alternate(steps, repeats)`` calls the step functions in turn, A B A B ..., so that a change
of load between the start and the end of the run hits both alike, and records for every call its
wall time (``time.perf_counter``) and its CPU time (``time.process_time``: the seconds the process
really ran, which other processes on the machine do not inflate). ``ratio_table`` prints, per
measure, the median of each side, the median of the call-by-call ratios and their spread (the
25th to 75th percentile), so a reader can see how far one run can be trusted.

Thread counts must be chosen before NumPy loads its BLAS library: ``set_threads(n)`` uses
threadpoolctl for NumPy's pool and ``torch.set_num_threads`` for torch's.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def set_threads(n: int) -> str:
    """Limit NumPy's BLAS pool and torch's intra-op pool to ``n`` threads; describe the result."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(n)
    torch.set_num_threads(n)
    pools = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
    return f"NumPy BLAS: {pools or 'none found'}; torch: {torch.get_num_threads()}"


def alternate(steps: dict[str, Callable[[], None]], repeats: int, warmup: int = 2):
    """Run each step ``warmup`` times, then all of them in turn ``repeats`` times.

    Returns ``{name: {"wall": array, "cpu": array}}`` of seconds per call.
    """
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: {"wall": [], "cpu": []} for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return {name: {k: np.array(v) for k, v in t.items()} for name, t in times.items()}


def ratio_row(label: str, times, numerator: str = "numpy", denominator: str = "torch") -> str:
    """One line per measure: medians in ms, the median ratio and its 25-75 % spread."""
    cells = []
    for measure in ("wall", "cpu"):
        a, b = times[numerator][measure], times[denominator][measure]
        ratios = a / np.maximum(b, 1e-9)
        q25, q50, q75 = np.percentile(ratios, [25, 50, 75])
        cells.append(f"{1e3 * np.median(a):8.2f} {1e3 * np.median(b):8.2f} "
                     f"{q50:5.2f}x [{q25:4.2f}-{q75:4.2f}]")
    return f"{label:<12} " + "   ".join(cells)


def ratio_header() -> str:
    one = f"{'numpy ms':>8} {'torch ms':>8} {'ratio':>6} {'25-75 %':>11}"
    return f"{'':<12} {'wall time':^37}   {'CPU time':^37}\n{'':<12} {one}   {one}"
