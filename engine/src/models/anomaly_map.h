// From a grid of patch scores to a smooth anomaly map at the input size.
#pragma once

namespace vigil {

// grid: grid_h x grid_w patch scores, row-major, float32.
// out: out_h x out_w, row-major, float32: the grid upsampled bilinearly
// (half-pixel centres, as PyTorch's align_corners=False) and smoothed with
// a Gaussian of `sigma` pixels (kernel 2 * int(4 * sigma + 0.5) + 1,
// reflected borders), as anomalib. sigma <= 0 skips the smoothing.
void grid_to_anomaly_map(const float* grid, int grid_h, int grid_w, int out_h,
                         int out_w, float sigma, float* out);

}  // namespace vigil
