"""The measurement operator of a single interferometer station.

For antennas at local east, north, up positions ``r_p`` (metres) observing at wavelength
``lambda``, the baseline of the antenna pair ``(p, q)`` in wavelengths is
``(u, v, w) = (r_p - r_q) / lambda``. A sky of point sources of intensity ``I_j`` in the
directions ``(l_j, m_j, n_j)`` (direction cosines towards east, north and up;
``n = sqrt(1 - l^2 - m^2)``) gives the visibility (Thompson, Moran & Swenson,
*Interferometry and Synthesis in Radio Astronomy*, 3rd ed., eq. 3.9, without delay tracking)

    V_pq = sum_j I_j exp(-2 pi i (u l_j + v m_j + w n_j)),

so ``y = Phi x`` with ``Phi[k, j] = exp(-2 pi i (u_k l_j + v_k m_j + w_k n_j))``. The sky is
real, so the real form stacks ``[Re Phi; Im Phi]`` (``2 n_bl x n_pix``) and ``[Re y; Im y]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lofar import SPEED_OF_LIGHT


@dataclass(frozen=True)
class SkyGrid:
    """Directions ``(l, m)`` of a square grid restricted to the sky above an elevation limit.

    Attributes
    ----------
    npix : int
        Pixels per side of the square ``[-1, 1] x [-1, 1]`` grid.
    mask : ndarray of bool, shape (npix, npix)
        ``True`` for pixels kept (image row = m index, column = l index).
    l, m, n : ndarray, shape (n_pix,)
        Direction cosines (east, north, up) of the kept pixels.
    """

    npix: int
    mask: np.ndarray
    l: np.ndarray
    m: np.ndarray
    n: np.ndarray

    @property
    def n_pixels(self) -> int:
        """Number of kept pixels (the unknowns)."""
        return self.l.size

    @property
    def axis(self) -> np.ndarray:
        """The grid coordinate along either axis, shape (npix,)."""
        return np.linspace(-1.0, 1.0, self.npix)

    def to_image(self, x: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Put a pixel vector back on the ``npix x npix`` grid (rows: m, columns: l).

        Parameters
        ----------
        x : ndarray, shape (n_pixels,)
        fill : float
            Value of the pixels below the elevation limit.

        Returns
        -------
        ndarray, shape (npix, npix)

        Raises
        ------
        ValueError
            If ``x`` has the wrong shape.
        """
        x = np.asarray(x)
        if x.shape != (self.n_pixels,):
            raise ValueError(f"x must have shape ({self.n_pixels},), got {x.shape}")
        img = np.full((self.npix, self.npix), fill, dtype=np.result_type(x.dtype, float))
        img[self.mask] = x
        return img

    def nearest(self, l: float, m: float) -> int:
        """Index of the kept pixel nearest to a direction.

        Parameters
        ----------
        l, m : float
            Direction cosines (east, north).

        Returns
        -------
        int
        """
        return int(np.argmin((self.l - l) ** 2 + (self.m - m) ** 2))


def sky_grid(npix: int, min_elevation_deg: float = 0.0) -> SkyGrid:
    """A grid of directions above ``min_elevation_deg``.

    Parameters
    ----------
    npix : int
        Pixels per side (at least 2) of the square grid over ``l, m`` in ``[-1, 1]``.
    min_elevation_deg : float
        Keep directions with elevation at least this (``l^2 + m^2 <= cos^2(elevation)``).

    Returns
    -------
    SkyGrid
    """
    if int(npix) != npix or npix < 2:
        raise ValueError(f"npix must be an integer >= 2, got {npix}")
    if not 0.0 <= min_elevation_deg < 90.0:
        raise ValueError(f"min_elevation_deg must be in [0, 90), got {min_elevation_deg}")
    ax = np.linspace(-1.0, 1.0, int(npix))
    ll, mm = np.meshgrid(ax, ax)
    r2 = ll ** 2 + mm ** 2
    mask = r2 <= np.cos(np.deg2rad(min_elevation_deg)) ** 2
    if min_elevation_deg == 0.0:
        mask &= r2 < 1.0  # n = 0 exactly on the horizon: drop it
    l, m = ll[mask], mm[mask]
    return SkyGrid(npix=int(npix), mask=mask, l=l, m=m, n=np.sqrt(np.clip(1.0 - l ** 2 - m ** 2, 0.0, None)))


def baseline_pairs(n_antennas: int) -> np.ndarray:
    """Antenna index pairs ``(p, q)`` with ``p < q``.

    Parameters
    ----------
    n_antennas : int
        At least 2.

    Returns
    -------
    ndarray of int, shape (n_ant (n_ant - 1) / 2, 2)

    Raises
    ------
    ValueError
        If ``n_antennas < 2``.
    """
    if n_antennas < 2:
        raise ValueError(f"n_antennas must be >= 2, got {n_antennas}")
    p, q = np.triu_indices(int(n_antennas), k=1)
    return np.stack([p, q], axis=1)


def baseline_uvw(positions_m: np.ndarray, frequency_hz: float, pairs: np.ndarray | None = None) -> np.ndarray:
    """Baselines ``(r_p - r_q) / lambda`` in wavelengths.

    Parameters
    ----------
    positions_m : ndarray, shape (n_ant, 3)
        Antenna positions (east, north, up) in metres.
    frequency_hz : float
        Observing frequency.
    pairs : ndarray, shape (n_bl, 2), optional
        Antenna pairs; default all ``p < q``.

    Returns
    -------
    ndarray, shape (n_bl, 3)
    """
    pos = np.asarray(positions_m, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"positions_m must have shape (n_ant, 3), got {pos.shape}")
    if not frequency_hz > 0:
        raise ValueError(f"frequency_hz must be positive, got {frequency_hz}")
    if pairs is None:
        pairs = baseline_pairs(pos.shape[0])
    lam = SPEED_OF_LIGHT / float(frequency_hz)
    return (pos[pairs[:, 0]] - pos[pairs[:, 1]]) / lam


class StationOperator:
    """``Phi[k, j] = exp(-2 pi i (u_k l_j + v_k m_j + w_k n_j))`` and its real stacking.

    Parameters
    ----------
    uvw : ndarray, shape (n_bl, 3)
        Baselines in wavelengths (:func:`baseline_uvw`).
    grid : SkyGrid
        Directions of the pixels (:func:`sky_grid`).

    Notes
    -----
    The complex matrix is formed once (``16 n_bl n_pix`` bytes). ``forward``/``adjoint`` act
    on complex vectors; ``forward_real``/``adjoint_real`` are the operator
    ``A = [Re Phi; Im Phi]`` on a real sky and its transpose, ``A^T r = Re(Phi^H (r_1 + i r_2))``.
    """

    def __init__(self, uvw: np.ndarray, grid: SkyGrid):
        uvw = np.asarray(uvw, dtype=float)
        if uvw.ndim != 2 or uvw.shape[1] != 3:
            raise ValueError(f"uvw must have shape (n_bl, 3), got {uvw.shape}")
        self.uvw = uvw
        self.grid = grid
        self._phi: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(n_bl, n_pix)`` of the complex Phi."""
        return (self.uvw.shape[0], self.grid.n_pixels)

    @property
    def real_shape(self) -> tuple[int, int]:
        """Shape ``(2 n_bl, n_pix)`` of the real stacking."""
        return (2 * self.uvw.shape[0], self.grid.n_pixels)

    def matrix(self) -> np.ndarray:
        """The complex ``n_bl x n_pix`` matrix Phi (cached)."""
        if self._phi is None:
            g = self.grid
            phase = np.outer(self.uvw[:, 0], g.l) + np.outer(self.uvw[:, 1], g.m) + np.outer(self.uvw[:, 2], g.n)
            self._phi = np.exp(-2j * np.pi * phase)
        return self._phi

    def real_matrix(self) -> np.ndarray:
        """``[Re Phi; Im Phi]``, shape ``(2 n_bl, n_pix)``, float64."""
        phi = self.matrix()
        return np.vstack([phi.real, phi.imag])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``Phi @ x``.

        Parameters
        ----------
        x : ndarray, shape (n_pix,)

        Returns
        -------
        ndarray, shape (n_bl,), complex
        """
        return self.matrix() @ np.asarray(x)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """``Phi^H @ y``.

        Parameters
        ----------
        y : ndarray, shape (n_bl,)

        Returns
        -------
        ndarray, shape (n_pix,), complex
        """
        return self.matrix().conj().T @ np.asarray(y)

    def forward_real(self, x: np.ndarray) -> np.ndarray:
        """``[Re Phi x; Im Phi x]`` for a real sky ``x``.

        Parameters
        ----------
        x : ndarray, shape (n_pix,)

        Returns
        -------
        ndarray, shape (2 n_bl,)
        """
        v = self.matrix() @ np.asarray(x, dtype=float)
        return np.concatenate([v.real, v.imag])

    def adjoint_real(self, r: np.ndarray) -> np.ndarray:
        """Transpose of :meth:`forward_real`: ``Re(Phi^H (r[:n_bl] + i r[n_bl:]))``.

        Parameters
        ----------
        r : ndarray, shape (2 n_bl,)

        Returns
        -------
        ndarray, shape (n_pix,)

        Raises
        ------
        ValueError
            If ``r`` has the wrong shape.
        """
        r = np.asarray(r, dtype=float)
        nb = self.uvw.shape[0]
        if r.shape != (2 * nb,):
            raise ValueError(f"r must have shape ({2 * nb},), got {r.shape}")
        return (self.matrix().conj().T @ (r[:nb] + 1j * r[nb:])).real

    def dirty_image(self, vis: np.ndarray) -> np.ndarray:
        """``Re(Phi^H y) / n_bl``: the dirty image on the grid's pixels.

        Parameters
        ----------
        vis : ndarray, shape (n_bl,)
            Visibilities.

        Returns
        -------
        ndarray, shape (n_pix,)
        """
        return self.adjoint(vis).real / self.uvw.shape[0]


def stack_real(y: np.ndarray) -> np.ndarray:
    """``[Re y; Im y]`` of complex visibilities.

    Parameters
    ----------
    y : ndarray, shape (n,), complex

    Returns
    -------
    ndarray, shape (2 n,)
    """
    y = np.asarray(y)
    return np.concatenate([y.real, y.imag])
