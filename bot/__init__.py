"""Answering: the retrieval chain, its answerers and its front ends (CLI, Telegram)."""
