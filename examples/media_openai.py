"""Caption an image and read a PDF with OpenAI (needs OPENAI_API_KEY; exits 0 without it).

    OPENAI_API_KEY=sk-... python examples/media_openai.py
"""

from __future__ import annotations

import os
import struct
import sys
import zlib

from pydantic import BaseModel

from instructor_py import Image, StructuredOutput


class Caption(BaseModel):
    main_color: str
    description: str


def red_square_png(size: int = 8) -> bytes:
    """A small red PNG, so the example needs no file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def main() -> int:
    if not os.environ.get("OPENAI_API_KEY"):
        print("examples/media_openai.py needs OPENAI_API_KEY; set it to run this example.")
        return 0
    image = Image.from_bytes(red_square_png())
    print("sending", image)  # Image(image/png, ... bytes, sha256=...): never the bytes
    caption = (
        StructuredOutput()
        .using("openai", model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
        .with_(messages=["What is the main color of this picture?", image], response_model=Caption)
        .get()
    )
    print(caption.model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
