"""Side-by-side timing on a shared, noisy machine: interleave, rotate, take medians."""

import gc
import statistics
import time


def per_call(candidates, calls, reps):
    """Median seconds per call of each ``name -> fn()``.

    Every repetition times ``calls`` calls of each candidate in turn; the order
    rotates between repetitions so no candidate always runs right after another.
    """
    names = list(candidates)
    samples = {name: [] for name in names}
    for fn in candidates.values():  # warm up: traces, kernel caches
        for _ in range(min(calls, 5)):
            fn()
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            fn = candidates[name]
            gc.disable()
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            elapsed = time.perf_counter() - start
            gc.enable()
            samples[name].append(elapsed / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def one_shot(candidates, reps):
    """Median seconds of ``name -> fn()`` where ``fn`` times itself and returns the
    seconds (first calls: each sample needs a fresh object made outside the timing)."""
    names = list(candidates)
    samples = {name: [] for name in names}
    for rep in range(reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            gc.collect()
            samples[name].append(candidates[name]())
    return {name: statistics.median(values) for name, values in samples.items()}
