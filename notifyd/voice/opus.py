"""OGG/Opus files from float samples: the system's libopus through ctypes, Ogg pages here.

Why not PyAV, which makes the MP3 and WAV files: the libopus inside PyAV's wheel took 21-23 ms
of CPU for a 17 s note where the system's libopus (Debian's libopus0, which ffmpeg depends on)
takes 14 ms at the same settings, and PyAV's encode held the GIL for part of it, so two notes
encoding at once did not run side by side (docs/benchmarks.md). A ctypes call releases the
GIL. The container is small enough to write here, as RFC 7845 (Ogg encapsulation of Opus) and
RFC 3533 (Ogg) lay it out: an identification header page, a comment header page, then pages of
audio packets, each page's granule position counting 48 kHz samples up to its last packet,
the first `pre_skip` of them the encoder's look-ahead (decoded, then dropped), and the last
page's position ending the stream at the note's last sample (the rest of the final frame is
padding).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import zlib
from functools import cache

import numpy as np
import numpy.typing as npt

from notifyd.errors import NotifydError

#: libopus constants (opus_defines.h).
_APPLICATION_AUDIO = 2049
_SET_BITRATE = 4002
_SET_COMPLEXITY = 4010
_GET_LOOKAHEAD = 4027
#: 60 ms frames: the fewest packets (and bytes of framing) a voice note can have.
FRAME_MS = 60
#: A page holds about a second of audio (ffmpeg's Ogg muxer does the same): a player can seek.
PAGE_MS = 1000
_MAX_PACKET = 4000  # bytes: libopus's recommended output buffer
_VENDOR = b"notifyd (libopus)"
#: Each byte's bits reversed: Ogg's CRC is CRC-32 without reflection, zlib's is reflected.
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


class OpusError(NotifydError):
    """libopus is missing or refused the settings: the note cannot be made as OGG/Opus."""


@cache
def _lib() -> ctypes.CDLL:
    try:  # the soname first: find_library needs ldconfig, not always on a user's PATH
        lib = ctypes.CDLL("libopus.so.0")
    except OSError:
        path = ctypes.util.find_library("opus")
        if path is None:
            raise OpusError(
                "libopus is not installed: install the libopus0 package (it comes with ffmpeg)"
            ) from None
        lib = ctypes.CDLL(path)
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_create.argtypes = [
        ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
    ]  # fmt: skip
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_encode_float.restype = ctypes.c_int32
    lib.opus_encode_float.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int32,
    ]  # fmt: skip
    lib.opus_get_version_string.restype = ctypes.c_char_p
    return lib


def version() -> str:
    """libopus's own version string (`notifyd voices` and the docs show it)."""
    return str(_lib().opus_get_version_string().decode())


def ogg_opus(
    samples: npt.NDArray[np.float32], rate: int, kbps: int = 24, complexity: int = 0
) -> bytes:
    """Mono samples in [-1, 1] at `rate` (8, 12, 16, 24 or 48 kHz) → an OGG/Opus file."""
    lib = _lib()
    err = ctypes.c_int()
    enc = lib.opus_encoder_create(rate, 1, _APPLICATION_AUDIO, ctypes.byref(err))
    if not enc or err.value:
        raise OpusError(f"libopus refused {rate} Hz mono (error {err.value})")
    try:
        for request, value in ((_SET_BITRATE, kbps * 1000), (_SET_COMPLEXITY, complexity)):
            if lib.opus_encoder_ctl(ctypes.c_void_p(enc), request, ctypes.c_int32(value)):
                raise OpusError(f"libopus refused setting {request} to {value}")
        lookahead = ctypes.c_int32()
        lib.opus_encoder_ctl(ctypes.c_void_p(enc), _GET_LOOKAHEAD, ctypes.byref(lookahead))
        packets = _packets(lib, enc, samples, rate, lookahead.value)
    finally:
        lib.opus_encoder_destroy(enc)
    scale = 48000 // rate  # granule positions count 48 kHz samples, whatever the input rate
    pre_skip = lookahead.value * scale
    return _file(packets, pre_skip, FRAME_MS * 48, pre_skip + len(samples) * scale)


def _packets(
    lib: ctypes.CDLL, enc: int, samples: npt.NDArray[np.float32], rate: int, lookahead: int
) -> list[bytes]:
    """The samples as Opus packets of FRAME_MS each, followed by silence up to the end of the
    frame that holds the encoder's look-ahead after the last sample (the decoder's output is
    that much late: without it the note's end would be cut)."""
    size = rate * FRAME_MS // 1000
    count = max(1, -(-(len(samples) + lookahead) // size))
    frames = np.zeros(count * size, dtype=np.float32)
    frames[: len(samples)] = samples
    out = ctypes.create_string_buffer(_MAX_PACKET)
    base = frames.ctypes.data
    packets = []
    for i in range(count):
        n = lib.opus_encode_float(ctypes.c_void_p(enc), base + i * size * 4, size, out, _MAX_PACKET)
        if n < 0:
            raise OpusError(f"libopus failed on frame {i} (error {n})")
        packets.append(out.raw[:n])
    return packets


def _file(packets: list[bytes], pre_skip: int, per_packet: int, end: int) -> bytes:
    """The Ogg stream: header pages, then about a second of packets a page."""
    serial = int.from_bytes(os.urandom(4), "little")
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", len(_VENDOR)) + _VENDOR + struct.pack("<I", 0)
    pages = [_page([head], 0, serial, 0, 0x02), _page([tags], 0, serial, 1, 0)]
    per_page = max(1, PAGE_MS // FRAME_MS)
    granule = 0  # the samples decoded up to the page's last packet, the pre-skip among them
    for start in range(0, len(packets), per_page):
        chunk = packets[start : start + per_page]
        granule += per_packet * len(chunk)
        last = start + per_page >= len(packets)
        pages.append(
            _page(chunk, end if last else granule, serial, len(pages), 0x04 if last else 0)
        )
    return b"".join(pages)


def _page(packets: list[bytes], granule: int, serial: int, sequence: int, flags: int) -> bytes:
    """One Ogg page: header, lacing values (a packet's length in 255s and the rest), data."""
    lacing = bytearray()
    for p in packets:
        lacing += b"\xff" * (len(p) // 255) + bytes([len(p) % 255])
    if len(lacing) > 255:
        raise OpusError(f"an Ogg page cannot hold {len(lacing)} lacing values")
    header = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, serial, sequence, 0)
    page = header + bytes([len(lacing)]) + bytes(lacing) + b"".join(packets)
    return page[:22] + struct.pack("<I", crc(page)) + page[26:]


def crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial value and final XOR 0),
    from zlib's reflected CRC-32 in C: the bytes' bits reversed in, the result's out, and
    zlib's initial value and final XOR taken off (a CRC is linear: they are the CRC of as
    many zero bytes)."""
    reflected = zlib.crc32(data.translate(_REVERSED)) ^ zlib.crc32(bytes(len(data)))
    return int(f"{reflected:032b}"[::-1], 2)
