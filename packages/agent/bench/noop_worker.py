"""The no-op task of the warm-worker benchmark (workers.ts): gives its input back."""

from tessera.worker import task


@task("noop")
def noop(value):
    return value
