"""Steering a pipeline from one of its stages."""

__all__ = ["Routed", "final", "next_stage"]


class Routed:
    """An output that also says where a pipeline job goes next. Make one
    with ``conveyor.final`` or ``conveyor.next_stage``; outside a pipeline
    only its output counts."""

    __slots__ = ("output", "final", "next")

    def __init__(self, output, final=False, next=None):
        self.output = output
        self.final = final
        self.next = next

    def __repr__(self):
        return "Routed(%r, final=%r, next=%r)" % (self.output, self.final, self.next)


def final(output):
    """Return output as the output of the whole pipeline job: no stage
    after this one runs."""
    return Routed(output, final=True)


def next_stage(stage, output):
    """Return output as the input of the named stage of the pipeline, which
    runs next instead of the stage that follows this one."""
    if not isinstance(stage, str) or not stage:
        raise TypeError("next_stage: the stage must be a non-empty string")
    return Routed(output, next=stage)
