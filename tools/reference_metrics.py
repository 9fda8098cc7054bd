#!/usr/bin/env python3
"""Reference values for vigil's metrics, computed independently.

Reads a JSON file and prints a JSON object of reference values, for the
engine tests to compare against:

  {"scores": [...], "labels": [0, 1, ...]}
      -> {"auroc": ..., "f1_max": {"f1", "threshold", "precision", "recall"}}
  {"maps": [[[...], ...], ...], "masks": [[[...], ...], ...],
   "fpr_limits": [0.3, ...]}
      -> {"pixel_auroc": ..., "aupro": [one value per limit]}

A JSON array of such objects gives an array of answers, one Python start
for many cases. NaN (a single class) is written as null.

AUROC and F1 come from scikit-learn (roc_auc_score, precision_recall_curve).
AUPRO follows the MVTec AD definition (Bergmann et al., IJCV 2021) the slow,
obvious way: regions are the 8-connected components of each mask
(scipy.ndimage.label), and every distinct score is a threshold at which the
global false positive rate and the mean per-region overlap are counted
afresh. Scores are float32, as in the engine.

Usage: reference_metrics.py INPUT.json
"""

import json
import sys

import numpy as np
from scipy import ndimage
from sklearn.metrics import precision_recall_curve, roc_auc_score


def auroc(scores, labels):
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def f1_max(scores, labels):
    """Best F1 over thresholds; equal F1s go to the lowest threshold."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    # The last point (precision 1, recall 0) has no threshold.
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    # Thresholds ascend: the first of the best is the lowest.
    best = int(np.flatnonzero(f1 >= f1.max() - 1e-12)[0])
    return {
        "f1": float(f1[best]),
        "threshold": float(thresholds[best]),
        "precision": float(precision[best]),
        "recall": float(recall[best]),
    }


def label_regions(masks):
    """Region labels, unique across images (0 = normal), and region sizes."""
    eight_connected = np.ones((3, 3), dtype=int)
    regions = np.zeros(masks.shape, dtype=np.int64)
    n_regions = 0
    for i, mask in enumerate(masks):
        labelled, n = ndimage.label(mask, structure=eight_connected)
        regions[i] = np.where(labelled > 0, labelled + n_regions, 0)
        n_regions += n
    sizes = np.bincount(regions.ravel(), minlength=n_regions + 1)[1:]
    return regions, sizes


def pro_curve(maps, masks, fpr_limit):
    """(FPR, PRO) points from (0, 0), thresholds descending, until past the
    limit."""
    regions, sizes = label_regions(masks)
    normal = masks == 0
    n_normal = normal.sum()
    points = [(0.0, 0.0)]
    for threshold in np.unique(maps)[::-1]:
        predicted = maps >= threshold
        fpr = np.logical_and(predicted, normal).sum() / n_normal
        hits = np.bincount(regions[predicted], minlength=len(sizes) + 1)[1:]
        points.append((fpr, np.mean(hits / sizes)))
        if fpr > fpr_limit:
            break
    return points


def aupro(maps, masks, fpr_limit):
    if not masks.any() or masks.all():
        return float("nan")
    points = pro_curve(maps, masks, fpr_limit)
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x1 > fpr_limit:
            y1 = y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0)
            x1 = fpr_limit
        area += 0.5 * (y0 + y1) * (x1 - x0)
    return area / fpr_limit


def evaluate(case):
    result = {}
    if "scores" in case:
        scores = np.asarray(case["scores"], dtype=np.float32)
        labels = np.asarray(case["labels"], dtype=np.int64)
        result["auroc"] = auroc(scores, labels)
        if labels.any():
            result["f1_max"] = f1_max(scores, labels)
    if "maps" in case:
        maps = np.asarray(case["maps"], dtype=np.float32)
        masks = np.asarray(case["masks"], dtype=np.uint8) != 0
        result["pixel_auroc"] = auroc(maps.ravel(), masks.ravel())
        limits = case.get("fpr_limits", [0.3])
        result["aupro"] = [aupro(maps, masks, limit) for limit in limits]
    return result


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    if isinstance(data, list):
        result = [evaluate(case) for case in data]
    else:
        result = evaluate(data)
    # NaN is not JSON: it goes out as null.
    print(json.dumps(result).replace("NaN", "null"))


if __name__ == "__main__":
    main()
