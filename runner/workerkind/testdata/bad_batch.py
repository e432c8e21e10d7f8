"""A batch handler without a list parameter: the worker fails its start."""

import conveyor


@conveyor.batch(max_size=8)
def embed(text: str) -> list:
    return [len(text)]
