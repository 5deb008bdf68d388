"""Box and polygon crops at ground-truth geometry, with clipping and skip accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokbench.data.crops import (
    BAD_GEOMETRY,
    BAD_POLYGON,
    DEGENERATE,
    OUTSIDE,
    ZERO_AREA,
    affine_from_points,
    crop_polygon,
    cut,
    parse_geometry,
    warp_affine,
)


@pytest.fixture
def img() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((60, 80, 3)) * 255).astype(np.uint8)


def test_box_is_a_plain_slice(img: np.ndarray) -> None:
    c = cut(img, [10, 5, 30, 25])
    assert c.skip is None and c.kind == "box" and not c.clipped
    np.testing.assert_array_equal(c.image, img[5:25, 10:30])


def test_box_coordinates_truncate_like_tokbench(img: np.ndarray) -> None:
    # TokBench casts float32 boxes with astype(int): truncation toward zero
    c = cut(img, [10.9, 5.2, 30.99, 25.5])
    np.testing.assert_array_equal(c.image, img[5:25, 10:30])


def test_box_partly_outside_is_clipped_and_flagged(img: np.ndarray) -> None:
    c = cut(img, [-5, -3, 20, 10])
    assert c.clipped and c.skip is None
    np.testing.assert_array_equal(c.image, img[0:10, 0:20])
    c = cut(img, [70, 50, 100, 90])
    assert c.clipped and c.image.shape == (10, 10, 3)
    inside = cut(img, [0, 0, 80, 60])  # the full image is not clipped
    assert not inside.clipped and inside.image.shape == (60, 80, 3)


@pytest.mark.parametrize("box", [[10, 10, 10, 20], [10, 10, 20, 10], [20, 10, 10, 20], [5, 5, 5.5, 9]])
def test_zero_area_boxes_are_skipped_with_reason(img: np.ndarray, box: list[float]) -> None:
    c = cut(img, box)
    assert c.image is None and c.skip == ZERO_AREA and "box" in c.detail


def test_box_entirely_outside(img: np.ndarray) -> None:
    c = cut(img, [100, 100, 120, 130])
    assert c.image is None and c.skip == OUTSIDE and c.clipped


@pytest.mark.parametrize(
    ("bbox", "reason"),
    [
        ([[0, 0], [10, 0], [10, 10]], BAD_POLYGON),  # 3 points
        ([[0, 0], [10, 0], [10, 10], [5, 12], [0, 10]], BAD_POLYGON),  # 5 points
        ([0, 0, 10, 0, 10, 10, 5, 12, 0, 10], BAD_POLYGON),  # 5 points, flat
        ([1, 2, 3], BAD_GEOMETRY),
        ("10,10,20,20", BAD_GEOMETRY),
        ([10, None, 20, 20], BAD_GEOMETRY),
        ([10, float("nan"), 20, 20], BAD_GEOMETRY),
        ([], BAD_GEOMETRY),
        ([[0, 0, 1], [1, 1, 1]], BAD_GEOMETRY),
    ],
)
def test_bad_geometry_is_rejected_with_reason(img: np.ndarray, bbox: object, reason: str) -> None:
    c = cut(img, bbox)
    assert c.image is None and c.skip == reason


def test_flat_eight_numbers_are_a_polygon() -> None:
    kind, poly = parse_geometry([1, 2, 11, 2, 11, 8, 1, 8])
    assert kind == "polygon" and poly.tolist() == [[1, 2], [11, 2], [11, 8], [1, 8]]


def test_axis_aligned_polygon_matches_box(img: np.ndarray) -> None:
    # docTR's rotated crop maps p0 -> (0,0), p1 -> (w-1, 0), p2 -> (w-1, h-1), w = int(|p0 p1|)
    c = cut(img, [[10, 5], [30, 5], [30, 25], [10, 25]])
    assert c.kind == "polygon" and c.image.shape == (20, 20, 3)
    # a scale of 19/20 over 20 px: samples drift by < 1 px from the box slice, corners are exact
    assert np.array_equal(c.image[0, 0], img[5, 10])
    assert np.array_equal(c.image[-1, -1], img[25, 30])


def test_rotated_polygon_recovers_an_upright_pattern() -> None:
    # draw a 40x10 bar pattern, rotate it by 30 degrees into a canvas, cut it back with its polygon
    h, w = 10, 40
    pattern = np.zeros((h, w, 3), dtype=np.uint8)
    pattern[:, ::8] = 255
    pattern[:, 1::8] = 255
    angle = math.radians(30)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    origin = np.array([30.0, 20.0])
    forward = np.hstack([rot, origin[:, None]])  # pattern coords -> canvas coords
    inverse = np.linalg.inv(np.vstack([forward, [0, 0, 1]]))[:2]
    canvas = warp_affine(pattern, inverse, (100, 80))
    corners = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=float) @ rot.T + origin
    c = crop_polygon(canvas, np.round(corners).astype(int))
    assert c.skip is None and abs(c.image.shape[1] - (w - 1)) <= 1 and abs(c.image.shape[0] - (h - 1)) <= 1
    columns = c.image[2:-2, :, 0].mean(axis=0)
    bright = columns > 127
    # the stripes come back vertical and in place: one bright run every 8 px
    assert 4 <= int(np.sum(np.diff(bright.astype(int)) == 1)) + int(bright[0]) <= 6


def test_polygon_partly_outside_is_flagged_and_black_outside() -> None:
    img = np.full((40, 40, 3), 200, dtype=np.uint8)
    c = cut(img, [[30, 10], [50, 10], [50, 20], [30, 20]])
    assert c.clipped and c.skip is None and c.image.shape == (10, 20, 3)
    assert c.image[:, -1].max() == 0 and c.image[:, 0].min() == 200


def test_polygon_zero_area_degenerate_and_outside() -> None:
    img = np.zeros((40, 40, 3), dtype=np.uint8)
    assert cut(img, [[5, 5], [5, 5], [5, 20], [5, 20]]).skip == ZERO_AREA
    assert cut(img, [[5, 5], [15, 5], [25, 5], [5, 5]]).skip == DEGENERATE
    assert cut(img, [[100, 100], [120, 100], [120, 110], [100, 110]]).skip == OUTSIDE


def test_warp_identity_and_opencv_agreement() -> None:
    rng = np.random.default_rng(1)
    img = (rng.random((50, 70, 3)) * 255).astype(np.uint8)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    np.testing.assert_array_equal(warp_affine(img, ident, (70, 50)), img)
    m = affine_from_points(np.array([[0, 0], [10, 0], [0, 10]]), np.array([[3, 4], [13, 6], [1, 14]]))
    np.testing.assert_allclose(m @ np.array([10, 0, 1]), [13, 6])
    cv2 = pytest.importorskip("cv2")
    forward = cv2.getRotationMatrix2D((35.0, 25.0), 23.0, 1.2)
    ref = cv2.warpAffine(img, forward, (60, 40))
    ours = warp_affine(img, cv2.invertAffineTransform(forward), (60, 40))
    assert np.abs(ref.astype(int) - ours.astype(int)).max() <= 1
