"""Algorithms whose inputs are dataclasses, for the schema tests."""
import dataclasses
from typing import Optional


@dataclasses.dataclass
class Box:
    w: int
    h: int = 1


def run_area(box: Optional[Box] = None) -> int:
    """The area of a box, 0 without one."""
    return 0 if box is None else box.w * box.h
