"""Our own fuzzing of the loaders: mutants of real files, each loaded in a child process.

:func:`run_campaign` with a :class:`FuzzConfig` (``medmo bench fuzz``); the mutators are in
:mod:`viewer.fuzz.mutators`, the child side in :mod:`viewer.fuzz.worker`, the pool of children in
:mod:`viewer.fuzz.pool`.
"""

from viewer.fuzz.campaign import FuzzConfig, run_campaign

__all__ = ["FuzzConfig", "run_campaign"]
