"""Chat prompts for local models: the model's own Jinja2 chat template, rendered like
llama-cpp-python and Hugging Face ``transformers`` do.

The template comes from the GGUF metadata key ``tokenizer.chat_template``. A model without one
falls back to a template chosen by its architecture (Gemma's turn format for ``gemma*``), else to
ChatML (``<|im_start|>role\\ncontent<|im_end|>``), as documented in ``docs/local.md``; pass
``chat_template="..."`` to the provider to override either.

Local chat templates are strict about roles (many raise on anything but alternating
user/assistant turns), so messages are normalised first: OpenAI tool calls become the
assistant's JSON text, tool results become user turns, content parts are joined, and consecutive
turns of the same role are merged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from instructor_py.common.errors import ConfigurationError, LocalModelError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Gemma's turn format (system text folded into the first user turn; the assistant is "model").
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set prefix = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set turns = messages %}{% endif %}"
    "{% for message in turns %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') + message['content'] | trim"
    " + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

# No chat template: the messages' texts one after the other (for base models, and for prompts the
# caller formats itself). Selected with ``chat_template="raw"``.
RAW_TEMPLATE = "{{ bos_token }}{% for message in messages %}{{ message['content'] }}\n\n{% endfor %}"

# Templates a caller can name instead of writing one: ``using("local", chat_template="raw")``.
NAMED_TEMPLATES: dict[str, str] = {
    "raw": RAW_TEMPLATE,
    "chatml": CHATML_TEMPLATE,
    "gemma": GEMMA_TEMPLATE,
}

# Fallbacks for GGUF files without ``tokenizer.chat_template``, by ``general.architecture`` prefix.
FALLBACK_TEMPLATES: dict[str, str] = {"gemma": GEMMA_TEMPLATE}

__all__ = [
    "CHATML_TEMPLATE",
    "FALLBACK_TEMPLATES",
    "GEMMA_TEMPLATE",
    "NAMED_TEMPLATES",
    "RAW_TEMPLATE",
    "ChatTemplate",
    "template_turns",
]


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


class ChatTemplate:
    """A compiled chat template. ``render(messages)`` returns the prompt text, ending with the
    generation prompt (the assistant turn's opening)."""

    __slots__ = ("_template", "bos_token", "eos_token", "is_fallback", "source")

    def __init__(
        self, source: str, *, bos_token: str = "", eos_token: str = "", is_fallback: bool = False
    ) -> None:
        source = NAMED_TEMPLATES.get(source, source)
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.is_fallback = is_fallback
        env = ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.loopcontrols"],
        )
        env.filters["tojson"] = _tojson
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise LocalModelError(
                f"the chat template does not compile ({exc}); pass chat_template='...' "
                "(a Jinja2 template) to the local provider to override it"
            ) from exc

    @classmethod
    def from_metadata(
        cls, metadata: Mapping[str, str], *, bos_token: str, eos_token: str
    ) -> ChatTemplate:
        """The model's own template (GGUF ``tokenizer.chat_template``); without one, the fallback
        for the model's architecture (:data:`FALLBACK_TEMPLATES`), else ChatML."""
        source = metadata.get("tokenizer.chat_template")
        if source:
            return cls(source, bos_token=bos_token, eos_token=eos_token)
        architecture = metadata.get("general.architecture", "")
        fallback = next(
            (t for prefix, t in FALLBACK_TEMPLATES.items() if architecture.startswith(prefix)),
            CHATML_TEMPLATE,
        )
        return cls(fallback, bos_token=bos_token, eos_token=eos_token, is_fallback=True)

    def render(
        self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True
    ) -> str:
        try:
            return self._template.render(
                messages=template_turns(messages),
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                add_generation_prompt=add_generation_prompt,
                raise_exception=_raise_exception,
                strftime_now=_strftime_now,
                tools=None,
                functions=None,
            )
        except jinja2.TemplateError as exc:
            raise ConfigurationError(
                f"the model's chat template rejected the messages: {exc}. Check the roles and "
                "their order, or pass chat_template='...' to the local provider"
            ) from exc

    def __repr__(self) -> str:
        kind = "ChatML fallback" if self.is_fallback else "model template"
        return f"ChatTemplate({kind}, {len(self.source)} chars)"


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, str):
                parts.append(part)
            else:
                raise ConfigurationError(
                    "local models take text only: a message content part of type "
                    f"{part.get('type') if isinstance(part, Mapping) else type(part).__name__!r} "
                    "cannot be rendered; send text parts"
                )
        return "\n".join(parts)
    raise ConfigurationError(
        f"message content must be a string or a list of text parts, not {type(content).__name__}"
    )


def template_turns(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """OpenAI-format messages -> plain ``{"role", "content"}`` turns a local template can render."""
    out: list[dict[str, str]] = []
    for message in messages:
        role = str(message.get("role", ""))
        text = _content_text(message.get("content"))
        if role == "assistant" and message.get("tool_calls"):
            calls = [
                str(call.get("function", {}).get("arguments", "")) for call in message["tool_calls"]
            ]
            text = "\n".join([t for t in [text, *calls] if t])
        elif role == "tool":
            role = "user"
        elif role in ("developer",):
            role = "system"
        elif role not in ("system", "user", "assistant"):
            raise ConfigurationError(
                f"unknown message role {role!r}: use system, user, assistant or tool"
            )
        if out and out[-1]["role"] == role:
            out[-1]["content"] = out[-1]["content"] + "\n\n" + text
        else:
            out.append({"role": role, "content": text})
    return out
