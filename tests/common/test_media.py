"""Image / PDF / Audio records: type detection, constructors, clear errors, reprs without bytes,
the one-user-message shortcut, and the CLI's --image flag end to end."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from instructor_py import PDF, Audio, Image, MediaError
from instructor_py.cli import main
from instructor_py.common.media import detect_media_type
from instructor_py.run.messages import normalize_messages
from tests.support.media_samples import PDF_BYTES, PNG_BYTES, WAV_BYTES, Reply, ScriptedServer, wire


@pytest.mark.parametrize(("data", "media_type"), [
    (PNG_BYTES, "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"GIF89a..", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"), (PDF_BYTES, "application/pdf"),
    (WAV_BYTES, "audio/wav"), (b"ID3\x04\x00rest", "audio/mpeg"), (b"\xff\xfb\x90\x00", "audio/mpeg"),
    (b"fLaC\x00", "audio/flac"), (b"OggS\x00", "audio/ogg"),
    (b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"), (b"hello", None),
])
def test_detection_by_magic_numbers(data: bytes, media_type: str | None) -> None:
    assert detect_media_type(data) == media_type


def test_constructors_agree_and_cache(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG_BYTES)
    encoded = base64.b64encode(PNG_BYTES).decode()
    a = Image.from_path(path)
    b = Image.from_bytes(PNG_BYTES)
    c = Image.from_base64(encoded)
    d = Image.from_url("data:image/png;base64," + encoded)
    assert a.data == b.data == c.data == d.data and a.media_type == "image/png"
    assert a.filename == "pixel.png" and a.size == len(PNG_BYTES)
    assert a.base64() is a.base64() and a.base64() == encoded
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    assert Audio.from_bytes(WAV_BYTES).format == "wav"
    assert PDF.from_url("https://h.example/x/report.pdf").media_type == "application/pdf"


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Image.from_bytes(b""), "0 bytes"),
    (lambda: Image.from_path("/no/such/file.png"), "no such file"),
    (lambda: Image.from_bytes(b"plain text"), "cannot tell the media type.*media_type="),
    (lambda: Image.from_bytes(PDF_BYTES), "application/pdf.*use PDF"),
    (lambda: Audio.from_base64("not base64!!"), "not valid base64"),
    (lambda: PDF.from_url("ftp://x/y.pdf"), "http"),
    (lambda: Image.from_bytes(PNG_BYTES, "audio/wav"), "not an image"),
])
def test_clear_errors(make: Any, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        make()


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="is a directory"):
        Image.from_path(tmp_path)


def test_repr_shows_kind_type_size_hash_never_bytes_or_url_secrets() -> None:
    image = Image.from_bytes(PNG_BYTES + b"\x00" * 64)
    text = repr(image)
    assert text.startswith("Image(image/png, ") and "sha256=" in text
    assert image.base64()[10:40] not in text
    url = Image.from_url("https://cdn.example/cat.jpg?X-Amz-Signature=SECRET")
    assert "SECRET" not in repr(url) and "cdn.example/cat.jpg?..." in repr(url)


def test_shortcut_list_is_one_user_message() -> None:
    image = Image.from_bytes(PNG_BYTES)
    (message,) = normalize_messages(["Describe this", image])
    assert message == {"role": "user", "content": ["Describe this", image]}
    assert normalize_messages([{"role": "user", "content": "hi"}])[0]["content"] == "hi"
    with pytest.raises(TypeError, match="mixes message dicts"):
        normalize_messages([{"role": "user", "content": "hi"}, image])
    with pytest.raises(TypeError, match="'user' messages"):
        normalize_messages([{"role": "system", "content": [image]}])


def test_cli_image_flag_and_jsonl_images_field(
    tmp_path: Path, scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = tmp_path / "cat.png"
    png.write_bytes(PNG_BYTES)
    schema = tmp_path / "caption.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"text": {"type": "string"}},
                                  "required": ["text"]}))
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('"first"\n' + json.dumps({"text": "second", "pdfs": [str(tmp_path / "d.pdf")]}) + "\n")
    (tmp_path / "d.pdf").write_bytes(PDF_BYTES)
    out = tmp_path / "out.jsonl"
    scripted_server.script([Reply.json(wire.openai_chat(tool_args='{"text": "cat"}'))] * 2)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    status = main(["extract", "--schema", str(schema), "--input", str(inputs), "--output", str(out),
                   "--preset", "openai", "--base-url", scripted_server.openai_url,
                   "--model", "gpt-4o", "--image", str(png), "--concurrency", "1", "--no-progress"])
    assert status == 0
    assert [json.loads(line)["value"] for line in out.read_text().splitlines()] == [{"text": "cat"}] * 2
    first, second = (r.json["messages"][-1]["content"] for r in scripted_server.requests)
    assert first[0] == {"type": "text", "text": "first"} and first[1]["type"] == "image_url"
    assert second[0]["text"] == "second" and [p["type"] for p in second[1:]] == ["image_url", "file"]
