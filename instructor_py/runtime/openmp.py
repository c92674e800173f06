"""OpenMP's wait policy for llama.cpp's worker threads.

llama.cpp's CPU backend runs its threads in an OpenMP team (libgomp). By default libgomp lets a
thread that finished its share *spin* for a while before it sleeps. On a machine whose cores are
all busy (other processes, or our own decode loop on the thread that spins' core) those spinning
threads take the CPU from the thread with work to do: measured here on a loaded 2-core machine,
three short extractions took 34-51 s with the default policy and 2.7-3.6 s with ``PASSIVE``
(12-14x), and CPU time fell from 7.5-12.5 s to 0.8-0.9 s.

A passive wait with no spin at all, though, puts every thread to sleep at each of the few
hundred barriers of a forward pass, and waking it costs more than the barrier: on the idle
machine a pass over 2 tokens took 27-31 ms instead of 13-14 ms, 8 tokens 48-50 ms instead of
34-36 ms (the continuous batch's steps are such passes). A short spin first (``GOMP_SPINCOUNT``,
:data:`SPIN_COUNT` iterations, a few microseconds) keeps nearly all of both: the idle figures
above are with it, and on the loaded machine its passes were within the noise of pure passive
waits (8 tokens: 150-180 ms against 120-140 ms; prompt evaluation 16-19 against 12-21 ms a
token), far from the default's 12x.

libgomp reads both variables once, when it is loaded (the first ``import llama_cpp``), so
:func:`prefer_passive_waits` runs when :mod:`instructor_py.runtime.model` is imported (every local
call loads its model through it, before any of our modules loads llama.cpp; a plain ``from
instructor_py import StructuredOutput`` imports it on the first local call) and when
:mod:`instructor_py.local` is imported. A value the user set (``OMP_WAIT_POLICY=ACTIVE``,
``GOMP_SPINCOUNT``) is kept. When ``llama_cpp`` was imported before, the policy it started with
stays.
"""

from __future__ import annotations

import os

__all__ = ["SPIN_COUNT", "prefer_passive_waits"]

SPIN_COUNT = 1000  # libgomp spin iterations before a waiting thread sleeps


def prefer_passive_waits() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` and ``GOMP_SPINCOUNT=1000`` unless the environment already
    chose a policy or a spin count; True when this call set the policy."""
    chose_spin = bool(os.environ.get("GOMP_SPINCOUNT"))
    if os.environ.get("OMP_WAIT_POLICY"):
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if not chose_spin:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    return True


prefer_passive_waits()
