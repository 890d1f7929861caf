#!/usr/bin/env python3
"""Writes FILE.cbor beside each JSON seed FILE given: the CBOR form of the same value, so that the
JSON harnesses (json_input.h) start from both forms. Usage: fuzz/cbor_seed.py fuzz/corpus/X/*.json"""
import json
import struct
import sys


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, '>B'), (25, '>H'), (26, '>I'), (27, '>Q')):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor(value):
    if value is None:
        return b'\xf6'
    if value is True:
        return b'\xf5'
    if value is False:
        return b'\xf4'
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, float):
        return b'\xfb' + struct.pack('>d', value)
    if isinstance(value, str):
        data = value.encode()
        return head(3, len(data)) + data
    if isinstance(value, list):
        return head(4, len(value)) + b''.join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b''.join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


for path in sys.argv[1:]:
    with open(path) as f:
        value = json.load(f)
    with open(path.rsplit('.', 1)[0] + '.cbor', 'wb') as f:
        f.write(cbor(value))
