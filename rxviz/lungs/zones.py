"""How a heatmap's mass falls on the lungs: [`lung_focus`][rxviz.lungs.zones.lung_focus] (the share inside them),
[`lung_zones`][rxviz.lungs.zones.lung_zones] (each lung's upper, middle and lower third, and outside) and
[`describe_heat`][rxviz.lungs.zones.describe_heat] (the sentence people read). On a frontal radiograph the patient faces the
viewer, so the patient's **right** lung is on the **left** of the image.
"""

from __future__ import annotations

import numpy as np

ZONES: tuple[str, ...] = ("right upper", "right middle", "right lower",
                          "left upper", "left middle", "left lower")
"""Zone names in reading order: the patient's right lung first, each from top to bottom."""
OUTSIDE = "outside the lungs"
"""The name of the heat that falls on no lung zone."""


def lung_focus(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heatmap's mass inside the mask, in [0, 1]; NaN for an empty heatmap or mask."""
    total = float(heatmap.sum())
    return float(heatmap[mask].sum() / total) if total > 0 and mask.any() else float("nan")


def zone_map(mask: np.ndarray) -> np.ndarray:
    """Label image: 0 outside the lungs, 1..6 for [`ZONES`][rxviz.lungs.zones.ZONES].

    The two lungs are the mask's halves either side of the midline between them (the image's left
    half is the patient's right lung); each is cut into thirds of its own height.
    """
    labels = np.zeros(mask.shape, dtype=np.uint8)
    columns = np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:
        return labels
    midline = _midline(mask, columns)
    for side, (first, last) in enumerate(((0, midline), (midline, mask.shape[1]))):
        part = np.zeros_like(mask)
        part[:, first:last] = mask[:, first:last]
        rows = np.flatnonzero(part.any(axis=1))
        if rows.size == 0:
            continue
        top, height = rows[0], rows[-1] + 1 - rows[0]
        row_zone = 1 + 3 * side + (np.arange(mask.shape[0]) - top) * 3 // height  # 0-2 on the lung's rows
        labels[part] = row_zone[np.nonzero(part)[0]]
    return labels


def _midline(mask: np.ndarray, columns: np.ndarray) -> int:
    """The column between the lungs: the emptiest column of the mask's middle half (never empty:
    it is at least half the lungs' width)."""
    left, right = columns[0], columns[-1] + 1
    quarter = (right - left) // 4
    middle = mask[:, left + quarter:right - quarter].sum(axis=0)
    emptiest = np.flatnonzero(middle == middle.min())
    return int(left + quarter + emptiest[len(emptiest) // 2])


def lung_zones(heatmap: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Share of the heatmap's mass in each of [`ZONES`][rxviz.lungs.zones.ZONES] and [`OUTSIDE`][rxviz.lungs.zones.OUTSIDE]; sums to 1.

    Empty (no keys) for a heatmap with no mass.
    """
    return zone_shares(heatmap, zone_map(mask))


def zone_shares(heatmap: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """[`lung_zones`][rxviz.lungs.zones.lung_zones] given the mask's [`zone_map`][rxviz.lungs.zones.zone_map], for many maps of one image."""
    total = float(heatmap.sum())
    if total <= 0:
        return {}
    shares = np.bincount(labels.ravel(), weights=heatmap.ravel().astype(np.float64), minlength=7) / total
    return {OUTSIDE: float(shares[0]), **{zone: float(shares[i + 1]) for i, zone in enumerate(ZONES)}}


def describe_heat(focus: float, area: float, zones: dict[str, float]) -> str:
    """One sentence on where a heatmap's mass lies, e.g. "62 % of the heat is inside the lungs
    (the lungs are 24 % of the image); most of it in the right lower zone (31 %)." """
    if not zones or np.isnan(focus):
        return "The lungs could not be found on this image, so the heat cannot be placed on them."
    zone, share = max(((z, zones[z]) for z in ZONES), key=lambda item: item[1])
    return (f"{100 * focus:.0f} % of the heat is inside the lungs (the lungs are {100 * area:.0f} % of the image);"
            f" most of it in the {zone} zone ({100 * share:.0f} %).")


def heat_core(heatmap: np.ndarray, share: float = 0.5) -> np.ndarray:
    """The heat's core: the smallest region holding ``share`` of the heatmap's mass (its hottest
    pixels, taken hottest first until they hold that share). Empty for a map with no mass."""
    flat = heatmap.ravel().astype(np.float64)
    total = flat.sum()
    core = np.zeros(heatmap.shape, dtype=bool)
    if total <= 0:
        return core
    order = np.argsort(-flat, kind="stable")
    count = int(np.searchsorted(np.cumsum(flat[order]), share * total)) + 1
    core.ravel()[order[:count]] = True
    return core


def describe_core(core: np.ndarray, labels: np.ndarray | None) -> str:
    """One sentence on the heat's core: its area and, on a frontal radiograph (``labels``, the
    lungs' [`zone_map`][rxviz.lungs.zones.zone_map], given), the lung zone most of it covers, e.g. "Half of the heat lies
    in 7 % of the image, 80 % of it in the right lower zone." """
    if not core.any():
        return "The map has no heat, so it has no core."
    area = f"Half of the heat lies in {100 * core.mean():.0f} % of the image"
    if labels is None:
        return f"{area}."
    if not labels.any():
        return f"{area}; the lungs could not be found, so it cannot be placed on them."
    shares = np.bincount(labels[core], minlength=7) / core.sum()
    first = int(shares.argmax())
    where = OUTSIDE if first == 0 else f"in the {ZONES[first - 1]} zone"
    return f"{area}, {100 * shares[first]:.0f} % of it {where}."
