"""Clients of outside services that nodes reach through their services (DESIGN: nodes never
hold credentials). ``openrouter``: chat completions and models from OpenRouter."""

from .openrouter import AIConfig, Completion, CompletionStream, OpenRouterClient, Usage

__all__ = ["AIConfig", "Completion", "CompletionStream", "OpenRouterClient", "Usage"]
