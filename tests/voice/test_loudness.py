"""BS.1770 loudness and the look-ahead limiter in numpy, against the standard's own figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from notifyd.voice import loudness


def sine(freq: float, seconds: float, rate: int, amplitude: float) -> np.ndarray:  # type: ignore[type-arg]
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_k_weighting_at_48_khz_is_the_standards_filter() -> None:
    """ITU-R BS.1770-4, tables 1 and 2: the coefficients published for 48 kHz."""
    (b1, a1), (b2, a2) = loudness.k_weighting(48000)
    assert b1 == pytest.approx((1.53512485958697, -2.69169618940638, 1.19839281085285), abs=1e-6)
    assert a1 == pytest.approx((1.0, -1.69065929318241, 0.73248077421585), abs=1e-6)
    assert b2 == pytest.approx((1.0, -2.0, 1.0))
    assert a2 == pytest.approx((1.0, -1.99004745483398, 0.99007225036621), abs=1e-6)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
@pytest.mark.parametrize("amplitude_db", [0.0, -20.0])
def test_a_997_hz_sine_measures_as_the_standard_says(rate: int, amplitude_db: float) -> None:
    """A full-scale 997 Hz sine in one channel is -3.01 LUFS (BS.1770-4, its test signal)."""
    tone = sine(997, 5.0, rate, 10 ** (amplitude_db / 20))
    assert loudness.integrated(tone, rate) == pytest.approx(-3.01 + amplitude_db, abs=0.05)


def biquads(samples: np.ndarray, rate: int) -> np.ndarray:  # type: ignore[type-arg]
    """The K-weighting run sample by sample, as the standard draws it: the reference."""
    out = samples.astype(np.float64).tolist()
    for b, a in loudness.k_weighting(rate):
        x1 = x2 = y1 = y2 = 0.0
        for i, x in enumerate(out):
            y = b[0] * x + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            x1, x2, y1, y2 = x, x1, y, y1
            out[i] = y
    return np.array(out)


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
@pytest.mark.parametrize("seconds", [0.01, 0.3, 2.7])
def test_the_blockwise_filter_is_the_two_biquads(rate: int, seconds: float) -> None:
    """Overlap-add with a cut impulse response gives the recursive filters' output, over block
    edges and for a note shorter than one block."""
    noise = np.random.default_rng(7).normal(0, 0.2, int(rate * seconds)).astype(np.float32)
    got = loudness.weighted(noise, rate)
    assert got.shape == noise.shape
    assert np.max(np.abs(got - biquads(noise, rate))) < 1e-9


def test_silence_around_speech_does_not_lower_it_and_silence_alone_has_none() -> None:
    """The gates: 8 s of silence around 3 s of tone would take 5.6 dB off a plain mean; gated,
    only the blocks that overlap the tone's edges (partly silent, so a little quieter) count."""
    rate = 16000
    tone = sine(997, 3.0, rate, 0.1)
    silence = np.zeros(rate * 4, np.float32)
    padded = np.concatenate([silence, tone, silence])
    alone = loudness.integrated(tone, rate)
    assert alone - 0.5 < loudness.integrated(padded, rate) <= alone
    assert loudness.integrated(np.zeros(rate * 2, np.float32), rate) == -math.inf
    assert loudness.integrated(tone[: rate // 4], rate) == -math.inf  # under one 400 ms block


def test_the_limiter_holds_every_sample_under_the_ceiling_and_leaves_quiet_parts_alone() -> None:
    rate = 16000
    quiet = sine(300, 1.0, rate, 0.05)
    loud = sine(300, 0.2, rate, 1.0)
    note = np.concatenate([quiet, loud, quiet])
    out = loudness.limit(note, rate, -6.0)
    assert loudness.peak_db(out) <= -6.0 + 1e-4
    assert np.array_equal(out[: rate // 2], note[: rate // 2])  # far before the peak: untouched
    assert np.array_equal(out[-rate // 2 :], note[-rate // 2 :])  # long after it: recovered
    assert loudness.limit(quiet, rate, -6.0) is quiet  # nothing over the ceiling: no work


def test_the_limiters_gain_moves_gradually() -> None:
    """No step in the gain a listener would hear as a click: at most the attack's dB a block
    from one block to the next."""
    rate = 16000
    note = np.concatenate(
        [sine(300, 0.5, rate, 0.05), sine(300, 0.1, rate, 1.0), sine(300, 0.5, rate, 0.05)]
    )
    gain = loudness.limiter_gain(note, rate, -12.0)
    assert gain is not None
    per_sample_db = np.abs(np.diff(20 * np.log10(gain)))
    block = int(rate * loudness.BLOCK_S)
    assert per_sample_db.max() <= loudness.ATTACK_DB_S * loudness.BLOCK_S / block * 2.01


def test_notes_of_many_lengths_measured_in_threads_at_once_each_measure_right() -> None:
    """Encodes run in threads that share the filters' cache: one thread's new length must
    not take another's filter away mid-measure (it once raised KeyError under load)."""
    from concurrent.futures import ThreadPoolExecutor

    tones = [sine(997, 1.0 + 0.37 * i, 24000, 0.1) for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        measured = list(pool.map(lambda t: loudness.integrated(t, 24000), tones * 3))
    assert measured == pytest.approx([-3.01 - 20.0] * len(measured), abs=0.05)
