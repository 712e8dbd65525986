"""Waiting for an asynchronous system to get somewhere, with a message that says what for."""

import time


def poll(fn, timeout_s: float, what: str):
    """Call ``fn`` until it returns something truthy; return that, or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := fn():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
