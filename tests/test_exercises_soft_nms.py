"""softviz.exercises.soft_nms (lesson 04): the IoU of two boxes.

Each check must pass a right solution and give a failing verdict with the hint for
the slip it claims to recognise (stub, non-callable and raising functions:
tests/test_exercises.py).
"""

import pytest

from softviz import soft_nms
from softviz.exercises import (
    check_box_iou,
)

# -- lesson 04 ---------------------------------------------------------------------------

def _iou(a, b, *, clamp=True, subtract=True, plus=0.0):
    w = min(a[2], b[2]) - max(a[0], b[0]) + plus
    h = min(a[3], b[3]) - max(a[1], b[1]) + plus
    if clamp:
        w, h = max(w, 0.0), max(h, 0.0)
    union = (a[2] - a[0] + plus) * (a[3] - a[1] + plus) + (b[2] - b[0] + plus) * (b[3] - b[1] + plus)
    return w * h / (union - (w * h if subtract else 0.0))


def test_box_iou_right_and_library():
    assert check_box_iou(_iou)
    assert check_box_iou(lambda a, b: soft_nms.box_iou(a[None], b[None])[0, 0])


@pytest.mark.parametrize("kwargs, words", [
    ({"clamp": False}, "clamp each at 0"),
    ({"subtract": False}, "counts the intersection twice"),
    ({"plus": 1.0}, "pixel-inclusive"),
])
def test_box_iou_slips_get_their_hint(kwargs, words):
    r = check_box_iou(lambda a, b: _iou(a, b, **kwargs))
    assert r.passed is False and words in r.message, r.message


def test_no_case_name_cites_a_file_outside_the_repository():
    from softviz.exercises import soft_nms as nms_checks

    assert not any("DESIGN" in c.name for c in nms_checks._cases())
