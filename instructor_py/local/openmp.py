"""OpenMP's wait policy for llama.cpp's worker threads.

llama.cpp's CPU backend runs its threads in an OpenMP team (libgomp). By default libgomp lets a
thread that finished its share *spin* for a while before it sleeps. On a machine whose cores are
all busy (other processes, or our own decode loop on the thread that spins' core) those spinning
threads take the CPU from the thread with work to do: measured here on a loaded 2-core machine,
three short extractions took 34-51 s with the default policy and 2.7-3.6 s with ``PASSIVE``
(12-14x), and CPU time fell from 7.5-12.5 s to 0.8-0.9 s. On an idle machine a passive wait costs
one thread wake-up per forward pass (microseconds against milliseconds).

libgomp reads ``OMP_WAIT_POLICY`` once, when it is loaded (the first ``import llama_cpp``), so
:func:`prefer_passive_waits` runs when :mod:`instructor_py.local` is imported, before any of its
modules loads llama.cpp. A value the user set (``OMP_WAIT_POLICY=ACTIVE``) is kept. When
``llama_cpp`` was imported before ``instructor_py.local``, the policy it started with stays.
"""

from __future__ import annotations

import os

__all__ = ["prefer_passive_waits"]


def prefer_passive_waits() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the environment already chose a policy; True when
    this call set it."""
    if os.environ.get("OMP_WAIT_POLICY"):
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


prefer_passive_waits()
