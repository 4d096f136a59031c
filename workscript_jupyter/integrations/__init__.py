"""Clients of outside services that nodes reach through their services (DESIGN: nodes never
hold credentials). ``openrouter``: chat completions and models from OpenRouter;
``ai_gateway``: the engine's ``AIGateway`` straight to it (a kernel's or the CLI's
``services.ai``; the server wraps it with budgets and usage rows)."""

from .ai_gateway import CHAT_OPTIONS, DirectAIGateway
from .openrouter import AIConfig, Completion, CompletionStream, OpenRouterClient, Usage

__all__ = [
    "CHAT_OPTIONS",
    "AIConfig",
    "Completion",
    "CompletionStream",
    "DirectAIGateway",
    "OpenRouterClient",
    "Usage",
]
