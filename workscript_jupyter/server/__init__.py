"""The Jupyter server extension: the composition root and the HTTP/WebSocket handlers."""
