"""Loudness and peak limiting of a voice note's samples, in numpy: no filter graph, no pass.

Integrated loudness is ITU-R BS.1770-4 (EBU R128) for one channel: K-weighting (a high shelf
and a high-pass, the standard's two biquads computed for the note's rate), mean squares over
400 ms blocks overlapping by 75 %, an absolute gate at −70 LUFS and a relative one 10 LU under.
The filters are applied in the frequency domain by overlap-add: their impulse response (125
ms, long past their decay) times blocks of the note, all blocks in one batched FFT: a 17 s note
at 16 kHz costs about 9 ms, where one FFT of the whole note cost 23-35 ms and FFmpeg's `ebur128`
about 24 ms a pass.
Measuring again after limiting needs no second FFT: see notifyd/voice/encode.py `level`.

The limiter is a look-ahead gain computed over the whole note at once: the gain each sample
needs to stay under the ceiling, its minimum over short blocks and their neighbours (the
look-ahead), ramps limited in dB per block (attack before a peak, release after), linear
within each block. Every sample stays under the ceiling by construction (the gain at a
sample is between two edge gains that are both at most what its block needs).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
#: The limiter's block (look-ahead) and its ramps: gain falls by at most ATTACK_DB_S and rises
#: by at most RELEASE_DB_S (a 6 dB reduction recovers in 75 ms, as FFmpeg's alimiter's 50 ms
#: release roughly did).
BLOCK_S = 0.0025
ATTACK_DB_S = 400.0
RELEASE_DB_S = 80.0


def k_weighting(rate: int) -> list[tuple[tuple[float, float, float], tuple[float, float, float]]]:
    """The two K-weighting biquads (b, a) at `rate`, from the standard's analogue prototypes
    (so the 48 kHz coefficients of BS.1770 come out, and any other rate gets its own)."""
    # Stage 1: high shelf, +4 dB above about 1.7 kHz (the head's effect).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (
        ((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0),
    )
    # Stage 2: high-pass at about 38 Hz (RLB weighting).
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = ((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0))
    return [shelf, highpass]


def impulse_response(rate: int) -> npt.NDArray[np.float64]:
    """The K-weighting's impulse response at `rate`, `TAIL_S` long: the two biquads run on a
    unit impulse. Its tail is far below anything measurable by then (the high-pass's time
    constant is 4 ms), so filtering with it is filtering with the biquads."""
    taps = np.zeros(int(rate * TAIL_S))
    taps[0] = 1.0
    for b, a in k_weighting(rate):
        x1 = x2 = y1 = y2 = 0.0
        for i, x in enumerate(taps.tolist()):
            y = b[0] * x + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            x1, x2, y1, y2 = x, x1, y, y1
            taps[i] = y
    return taps


#: How much of the impulse response is kept: 125 ms, 30 of the high-pass's time constants.
TAIL_S = 0.125
#: Per rate: (block, FFT size, the response's spectrum at that size). A handful of rates.
_RESPONSES: dict[int, tuple[int, int, npt.NDArray[np.complex128]]] = {}


def _response(rate: int) -> tuple[int, int, npt.NDArray[np.complex128]]:
    got = _RESPONSES.get(rate)  # read once: notes are levelled in several threads at a time
    if got is None:
        taps = impulse_response(rate)
        n = 1 << (4 * len(taps) - 1).bit_length()  # blocks of at least 3 responses' lengths
        got = (n - len(taps) + 1, n, np.fft.rfft(taps, n))
        _RESPONSES[rate] = got
    return got


def weighted(samples: Samples, rate: int) -> npt.NDArray[np.float64]:
    """The K-weighted samples (what BS.1770 measures the power of), by overlap-add: every
    block through one batched FFT. One FFT of the whole note cost 3-5 times as much (a power
    of two up to twice the note's length, and a response computed for each new size)."""
    block, n, response = _response(rate)
    count = max(1, -(-len(samples) // block))
    blocks = np.zeros((count, block))
    blocks.reshape(-1)[: len(samples)] = samples
    out = np.fft.irfft(np.fft.rfft(blocks, n, axis=1) * response, n, axis=1)
    tail = n - block  # shorter than a block: each block's tail falls inside the next block
    joined = np.zeros((count + 1) * block)
    joined[: count * block] = out[:, :block].reshape(-1)
    joined[block:].reshape(count, block)[:, :tail] += out[:, block:]
    return joined[: len(samples)]


def gated(power: npt.NDArray[np.float64], rate: int) -> float:
    """The integrated loudness (LUFS) of K-weighted power (squared samples): 400 ms blocks
    every 100 ms, gated; -inf when too short or silent to measure."""
    hop = rate // 10
    count = len(power) // hop
    if count < 4:
        return -math.inf
    hops = power[: count * hop].reshape(count, hop).mean(axis=1)
    blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / 4
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(blocks)
    blocks, levels = blocks[levels > ABSOLUTE_GATE_LUFS], levels[levels > ABSOLUTE_GATE_LUFS]
    if not len(blocks):
        return -math.inf
    gate = -0.691 + 10 * math.log10(float(blocks.mean())) + RELATIVE_GATE_LU
    return -0.691 + 10 * math.log10(float(blocks[levels > gate].mean()))


def integrated(samples: Samples, rate: int) -> float:
    """The integrated loudness (LUFS) of mono samples in [-1, 1]; -inf when too short or
    silent to measure (under one 400 ms block above the absolute gate)."""
    if len(samples) < rate * 4 // 10:
        return -math.inf
    return gated(np.square(weighted(samples, rate)), rate)


def peak_db(samples: Samples) -> float:
    """The sample peak in dBFS."""
    top = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return 20 * math.log10(top) if top > 0 else -math.inf


def limit(samples: Samples, rate: int, ceiling_db: float) -> Samples:
    """`samples` with every sample under `ceiling_db` (dBFS), the gain reduced smoothly
    around the peaks and left at 1 elsewhere."""
    gain = limiter_gain(samples, rate, ceiling_db)
    return samples if gain is None else (samples * gain).astype(np.float32)


def limiter_gain(samples: Samples, rate: int, ceiling_db: float) -> npt.NDArray[np.float64] | None:
    """The limiter's gain for each sample (at most 1), or None where no sample passes the
    ceiling."""
    edges = edge_gains(block_tops(samples, rate), ceiling_db)
    return None if edges is None else expand(edges, block_size(rate), len(samples))


def block_size(rate: int) -> int:
    """The limiter's block in samples (2.5 ms): 40 of them make a 100 ms loudness hop."""
    return max(1, int(rate * BLOCK_S))


def block_tops(samples: Samples, rate: int) -> npt.NDArray[np.float32]:
    """The peak of each block: all the limiter needs of the samples (a gain scales them)."""
    size = block_size(rate)
    count = -(-len(samples) // size)
    padded = np.zeros(count * size, dtype=np.float32)
    padded[: len(samples)] = np.abs(samples)
    return padded.reshape(count, size).max(axis=1)


def block_means(power: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """The mean of each block of `power` (the last block padded with silence)."""
    size = block_size(rate)
    count = -(-len(power) // size)
    padded = np.zeros(count * size)
    padded[: len(power)] = power
    return padded.reshape(count, size).mean(axis=1)


def edge_gains(tops: npt.NDArray[np.float32], ceiling_db: float) -> npt.NDArray[np.float64] | None:
    """The limiter's gain at each block's edges (count + 1, linear, at most 1) for blocks with
    these peaks, or None where none passes the ceiling."""
    ceiling = 10 ** (ceiling_db / 20)
    count = len(tops)
    if not count or tops.max() <= ceiling:
        return None
    with np.errstate(divide="ignore"):
        need = np.minimum(0.0, 20 * np.log10(ceiling / np.maximum(tops, 1e-12)))
    around = need.copy()  # each block's gain also serves its neighbours' samples
    around[1:] = np.minimum(around[1:], need[:-1])
    around[:-1] = np.minimum(around[:-1], need[1:])
    steps = np.arange(count, dtype=np.float64)
    release = RELEASE_DB_S * BLOCK_S  # dB a block: rising after a peak
    gain = steps * release + np.minimum.accumulate(around - steps * release)
    attack = ATTACK_DB_S * BLOCK_S  # dB a block: falling before a peak (a suffix minimum)
    gain = np.minimum.accumulate((gain + steps * attack)[::-1])[::-1] - steps * attack
    # Linear within each block, from the lower gain of its left edge to that of its right:
    # both at most the block's own gain, so at most what each of its samples needs.
    edges: npt.NDArray[np.float64] = 10 ** (
        np.concatenate([gain[:1], np.minimum(gain[1:], gain[:-1]), gain[-1:]]) / 20
    )
    return edges


def expand(edges: npt.NDArray[np.float64], size: int, n: int) -> npt.NDArray[np.float64]:
    """The gain of each of `n` samples: linear within each block between its edges."""
    ramp = (np.arange(size, dtype=np.float64) / size)[None, :]
    inside = edges[:-1, None] * (1 - ramp) + edges[1:, None] * ramp
    return inside.reshape(-1)[:n]


def mean_square(edges: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The mean of the gain squared over each block (linear between its edges): what the
    limiter does to a block's power."""
    e0, e1 = edges[:-1], edges[1:]
    return (e0 * e0 + e0 * e1 + e1 * e1) / 3
