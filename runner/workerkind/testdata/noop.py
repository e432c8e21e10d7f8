"""A no-op algorithm: the per-job overhead benchmark's workload."""


def run_noop() -> None:
    """Does nothing."""
