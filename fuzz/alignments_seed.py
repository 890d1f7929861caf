#!/usr/bin/env python3
"""Writes a version 3 alignments file ("FSCALN3\\n", SHA-256 line, payload) into OUT_DIR as
version_3_tracks.fsca: two frames of one track (smoothed landmarks over raw ones, a filled face),
frame histograms, a shot cut and the smoothing settings, so that alignments_fuzzer starts from the
steady-faces fields without a binary seed kept in git. The payload is encoded here by hand
(proto/fsc.proto field numbers). scripts/fuzz runs it at fuzz time.
Usage: fuzz/alignments_seed.py OUT_DIR"""
import hashlib
import os
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def vint(field, n):
    return key(field, 0) + varint(n)


def message(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def floats(field, values):  # packed repeated float
    return message(field, b"".join(struct.pack("<f", v) for v in values))


def point(field, x, y):
    return message(field, key(1, 5) + struct.pack("<f", x) + key(2, 5) + struct.pack("<f", y))


def face(track, shift, raw, filled):
    out = message(1, b"".join(key(f, 5) + struct.pack("<f", v)
                              for f, v in ((1, 100), (2, 80), (3, 60), (4, 70))))
    out += key(2, 5) + struct.pack("<f", 0.9)
    out += b"".join(point(3, 110 + i % 17 * 3 + shift, 90 + i // 17 * 12) for i in range(68))
    out += message(4, b"".join(key(1, 1) + struct.pack("<d", v)
                               for v in (1.2, 0.1, -100, -0.1, 1.2, -80)))
    out += vint(5, 256)
    out += vint(10, track)
    if raw:
        out += b"".join(point(11, 110 + i % 17 * 3, 90 + i // 17 * 12) for i in range(68))
    if filled:
        out += vint(12, 1)
    return out


def frame(index, faces, histogram, cut):
    out = vint(1, index) + b"".join(message(3, f) for f in faces) + floats(4, histogram)
    return out + (vint(5, 1) if cut else b"")


def main():
    bins = [1.0 / 64] * 64
    payload = vint(1, 3)  # version
    payload += message(2, message(1, b"clip.mp4") + vint(2, 640) + vint(3, 360) + vint(4, 30))
    payload += message(3, b"ssd") + message(4, b"face-api-landmark68")
    payload += message(5, frame(0, [face(1, 0.5, True, False)], bins, False))
    payload += message(5, frame(1, [face(1, 0.25, False, True)], bins, False))
    payload += message(5, frame(2, [], [0.0] * 63 + [1.0], True))
    payload += message(7, key(1, 1) + struct.pack("<d", 1.0) + vint(2, 5) + vint(3, 1) +
                       vint(4, 1) + vint(5, 1))
    data = b"FSCALN3\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    os.makedirs(sys.argv[1], exist_ok=True)
    with open(os.path.join(sys.argv[1], "version_3_tracks.fsca"), "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
