"""Integrations with other frameworks (public, documented submodules):

- :mod:`instructor_py.integrations.ray`: extraction over a Ray Dataset, past one machine
  (needs the ``ray`` extra: ``pip install 'instructor_py[ray]'``).
"""
