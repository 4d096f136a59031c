"""Local stand-ins for outside services, for tests and benchmarks (``bench/`` imports them
too): each one is a real HTTP server on 127.0.0.1 in a thread of its own, so nothing leaves
the machine. No pytest import here; the fixtures are in ``fixtures.py``."""

from .openrouter import KEY, MODELS, OpenRouterStandIn

__all__ = ["KEY", "MODELS", "OpenRouterStandIn"]
