"""Letterbox / restore geometry against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from imaging import photo
from PIL import Image

from tokbench.protocol import Protocol, letterbox, letterbox_geometry, unletterbox


@pytest.mark.parametrize(
    ("w", "h", "size", "expected"),
    [
        # landscape 200x120 -> ratio 256/200 = 1.28: w 256, h ceil(153.6)=154, y offset (256-154)//2 = 51
        (200, 120, 256, (0, 51, 256, 154)),
        # portrait 97x181 at 256: ratio 256/181; w ceil(137.19)=138, x offset (256-138)//2 = 59
        (97, 181, 256, (59, 0, 138, 256)),
        # odd downscale 1001x333 at 512: ratio 512/1001; h ceil(170.32)=171, y (512-171)//2 = 170
        (1001, 333, 512, (0, 170, 512, 171)),
        # square
        (64, 64, 256, (0, 0, 256, 256)),
        # 1000 wide: ceil(1000*(256/1000)) is 257 in float arithmetic; clamped to the canvas
        (1000, 10, 256, (0, 126, 256, 3)),
    ],
)
def test_letterbox_geometry_matches_hand_computation(w: int, h: int, size: int, expected: tuple) -> None:
    p = letterbox_geometry(w, h, size)
    assert (p.x, p.y, p.w, p.h) == expected
    assert (p.orig_w, p.orig_h, p.canvas) == (w, h, size)


def test_letterbox_pads_black_and_restore_returns_original_size() -> None:
    img = photo(120, 200)
    canvas, p = letterbox(img, 256)
    assert canvas.shape == (256, 256, 3)
    assert canvas[: p.y].max() == 0 and canvas[p.y + p.h :].max() == 0
    expected = np.asarray(Image.fromarray(img).resize((p.w, p.h), Image.LANCZOS))
    np.testing.assert_array_equal(canvas[p.y : p.y + p.h, p.x : p.x + p.w], expected)
    restored = unletterbox(canvas, p)
    assert restored.shape == img.shape
    # restoring the untouched canvas equals the pure resize round trip
    round_trip = Image.fromarray(expected).resize((200, 120), Image.LANCZOS)
    np.testing.assert_array_equal(restored, np.asarray(round_trip))


def test_center_crop_round_trip_keeps_size() -> None:
    proto = Protocol("center-crop")
    img = photo(100, 300)
    canvas, p = proto.prepare(img, 64)
    assert canvas.shape == (64, 64, 3)
    restored = proto.restore(canvas, p, img)
    assert restored.shape == img.shape


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        Protocol("letterbox-ish")
