"""The largest magnitude of each block: the first step of block scaling (lowfloat.scaling: blocks, mx)."""

from .jit import njit

__all__ = ["block_amax_kernel"]


@njit(cache=True, nogil=True)
def block_amax_kernel(rows, out):
    """out[i] = max_j |rows[i, j]|, or NaN if row i holds NaN or +-inf.  rows: (nblocks, block) float32/float64."""
    for i in range(rows.shape[0]):
        amax = abs(rows[i, 0])
        # m - m is 0 for finite m and NaN for NaN or inf: summing it marks a bad block without a
        # branch, which keeps the loop vectorisable (a short-circuit test made it 4x slower)
        bad = amax - amax
        for j in range(1, rows.shape[1]):
            magnitude = abs(rows[i, j])
            bad += magnitude - magnitude
            amax = max(amax, magnitude)
        out[i] = amax + bad
