#!/usr/bin/env python3
"""Writes the "fsCm" chunk (fsc's face metadata) of each face PNG given into OUT_DIR as NAME.bin,
so that face_png_fuzzer's non-PNG branch (arbitrary metadata bytes) starts from real metadata
without a binary seed kept in git. scripts/fuzz runs it at fuzz time.
Usage: fuzz/png_metadata_seed.py OUT_DIR fuzz/corpus/face_png/*.png"""
import os
import struct
import sys


def fscm_chunks(png):
    i = 8  # past the signature
    while i + 8 <= len(png):
        length = struct.unpack(">I", png[i:i + 4])[0]
        if png[i + 4:i + 8] == b"fsCm":
            yield png[i + 8:i + 8 + length]
        i += 12 + length  # length, type, data, CRC


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            for n, data in enumerate(fscm_chunks(f.read())):
                name = os.path.splitext(os.path.basename(path))[0]
                with open(os.path.join(out, "%s_metadata%d.bin" % (name, n)), "wb") as seed:
                    seed.write(data)


if __name__ == "__main__":
    main()
