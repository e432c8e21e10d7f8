"""The prefetch benchmark's algorithm (bench/prefetch.sh): a no-op, as
Celery's peer task (../shared/peers/python-and-http/apps/celery_tasks.py)
is. It takes {"n": int}, as bench/load submits."""


def run_noop(n: int = 0) -> None:
    """Does nothing."""
    return None
