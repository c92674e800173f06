"""Tiny, real media files for tests: a 1x1 PNG, a 10 ms WAV, a one-page PDF, and a loopback
server for media URLs (import the scripted server from wherever the harness lives)."""

from __future__ import annotations

import io
import struct
import wave
import zlib

from tests.support.servers import wire
from tests.support.servers.scripted import Reply, ScriptedServer

__all__ = ["PDF_BYTES", "PNG_BYTES", "WAV_BYTES", "Reply", "ScriptedServer", "wire"]


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 80)
    return out.getvalue()


PNG_BYTES = _png()
WAV_BYTES = _wav()
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
