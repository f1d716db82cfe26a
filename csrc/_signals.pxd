# Ctrl-C inside the loops that run without the GIL.
#
# Python runs its signal handlers (SIGINT's raises KeyboardInterrupt) in the main
# thread only, and only when asked to: PyErr_CheckSignals, which needs the GIL. The
# loops ask between blocks of rows, every POLL_MS milliseconds, and never outside the
# main thread, where Python would do nothing. Whether it is time is read on a
# monotonic clock every `stride` blocks: a read can cost a tenth of a microsecond,
# a few percent of a one-row mini-batch of a small network, so the stride adapts to
# keep the reads about READ_MS apart.

from cpython.exc cimport PyErr_CheckSignals

cdef extern from "platform.h":
    double monotonic_ms "fcnn_monotonic_ms" () noexcept nogil

cdef enum:
    POLL_MS = 25
    READ_MS = 1
    MAX_STRIDE = 1 << 20


cdef struct Watch:
    bint main_thread   # signal handlers can run in this thread
    double next_ms     # when to ask next
    double read_ms     # when the clock was read last
    long stride        # blocks from one clock read to the next
    long countdown     # blocks to the next clock read


cdef inline Watch watch_signals(bint main_thread) noexcept nogil:
    """A watch that asks first ``POLL_MS`` from now."""
    cdef Watch w
    w.main_thread = main_thread
    w.read_ms = monotonic_ms()
    w.next_ms = w.read_ms + POLL_MS
    w.stride = 1
    w.countdown = 1
    return w


cdef inline bint due(Watch* w) noexcept nogil:
    """Called once per block: whether it is time to ask (the watch is then set for
    the next time)."""
    cdef double now
    if not w.main_thread:
        return False
    w.countdown -= 1
    if w.countdown > 0:
        return False
    now = monotonic_ms()
    if now - w.read_ms < READ_MS and w.stride < MAX_STRIDE:
        w.stride *= 2
    elif now - w.read_ms > 4 * READ_MS and w.stride > 1:
        w.stride //= 2
    w.countdown = w.stride
    w.read_ms = now
    if now < w.next_ms:
        return False
    w.next_ms = now + POLL_MS
    return True


cdef inline int check_signals(Watch* w) except -1 nogil:
    """Run the handlers of pending signals when due; raises what they raise (for
    Ctrl-C, KeyboardInterrupt)."""
    if due(w):
        with gil:
            PyErr_CheckSignals()
    return 0


cdef inline int interrupted(Watch* w) except -1 nogil:
    """``check_signals``, but a KeyboardInterrupt is caught: returns 1 then, else 0.
    Other exceptions propagate."""
    if due(w):
        with gil:
            try:
                PyErr_CheckSignals()
            except KeyboardInterrupt:
                return 1
    return 0
