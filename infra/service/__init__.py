"""The HTTP service (``tandem serve-assistant``): the question-answering gateway behind an OpenAI-compatible API."""
