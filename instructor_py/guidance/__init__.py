"""The Guidance template language (handlebars style): parsing, patterns and values.

It imports without the local extra: remote providers use a template as a prompt and parse the
answer with :meth:`GuidanceTemplate.parse_answer`; the local engine compiles it token by token
(:mod:`instructor_py.engine.backends.guidance_backend`).
"""

from __future__ import annotations

from instructor_py.guidance.parts import GuidanceTemplateType, GuidanceVariable
from instructor_py.guidance.template import GuidanceTemplate, template_constraint

__all__ = ["GuidanceTemplate", "GuidanceTemplateType", "GuidanceVariable", "template_constraint"]
