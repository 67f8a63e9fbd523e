"""Self-tests of the OpenAI emulator, driven by the real langchain_openai.ChatOpenAI over HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

try:  # works whether or not tests/ is a package
    from tests.openai_emulator import JSON, OpenAIEmulator, Reply
except ImportError:
    from openai_emulator import JSON, OpenAIEmulator, Reply

TEXT = "Lisbon hosted the summit on 3 May, according to two reports [1][2]."
MESSAGES = [SystemMessage("Answer with citations."), HumanMessage("Where was the summit?")]


@pytest.fixture
def emu() -> Iterator[OpenAIEmulator]:
    """A running emulator, stopped after the test."""
    with OpenAIEmulator() as emulator:
        yield emulator


def chat(emu: OpenAIEmulator, **kwargs: Any) -> ChatOpenAI:
    """The real client pointed at the emulator, without retries."""
    return ChatOpenAI(base_url=emu.base_url, api_key="test-key", model="test-model", max_retries=0, **kwargs)


def test_invoke_returns_scripted_text(emu: OpenAIEmulator) -> None:
    emu.script(Reply(TEXT))
    result = chat(emu).invoke(MESSAGES)
    assert result.content == TEXT
    assert result.response_metadata["finish_reason"] == "stop"
    assert result.usage_metadata is not None and result.usage_metadata["output_tokens"] > 0


def test_recorded_request_has_system_and_human_messages(emu: OpenAIEmulator) -> None:
    emu.script("ok")
    chat(emu).invoke(MESSAGES)
    (body,) = emu.wait_for_requests(1, timeout=2)
    assert body["model"] == "test-model"
    assert body["messages"] == [
        {"role": "system", "content": "Answer with citations."},
        {"role": "user", "content": "Where was the summit?"},
    ]


def test_stream_yields_several_chunks(emu: OpenAIEmulator) -> None:
    emu.script(Reply(TEXT))
    pieces = [str(chunk.content) for chunk in chat(emu).stream(MESSAGES)]
    assert len([p for p in pieces if p]) >= 3
    assert "".join(pieces) == TEXT
    assert emu.requests[0]["stream"] is True


def test_stream_uses_given_chunks_and_reports_usage(emu: OpenAIEmulator) -> None:
    emu.script(Reply(chunks=["Lis", "bon", "."], chunk_delay=0.01))
    chunks = list(chat(emu, stream_usage=True).stream(MESSAGES))
    assert [c.content for c in chunks if c.content] == ["Lis", "bon", "."]
    assert emu.requests[0]["stream_options"] == {"include_usage": True}
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 1


def test_ainvoke_and_astream(emu: OpenAIEmulator) -> None:
    emu.script(Reply("first answer"), Reply(TEXT))
    llm = chat(emu)

    async def run() -> tuple[str, list[str]]:
        first = await llm.ainvoke(MESSAGES)
        pieces = [str(chunk.content) async for chunk in llm.astream(MESSAGES)]
        return str(first.content), pieces

    first, pieces = asyncio.run(run())
    assert first == "first answer"
    assert len([p for p in pieces if p]) >= 3
    assert "".join(pieces) == TEXT


def test_error_reply_raises_status_error(emu: OpenAIEmulator) -> None:
    emu.script(Reply(status=429, error="Rate limit reached"), Reply(status=503, error="overloaded"))
    llm = chat(emu)
    with pytest.raises(openai.RateLimitError) as info:
        llm.invoke(MESSAGES)
    assert info.value.status_code == 429
    assert "Rate limit reached" in info.value.message
    with pytest.raises(openai.APIStatusError) as streamed:
        list(llm.stream(MESSAGES))
    assert streamed.value.status_code == 503


def test_delay_beyond_client_timeout_raises_timeout(emu: OpenAIEmulator) -> None:
    emu.script(Reply("too late", delay=3.0), Reply("on time"))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        chat(emu, timeout=0.5).invoke(MESSAGES)
    assert time.monotonic() - started < 2.5
    assert chat(emu).invoke(MESSAGES).content == "on time"


def test_responder_answers_from_the_prompt(emu: OpenAIEmulator) -> None:
    def responder(body: JSON) -> Reply:
        return Reply(f"echo: {body['messages'][-1]['content']}")

    emu.respond_with(responder)
    emu.script("scripted first")
    llm = chat(emu)
    assert llm.invoke("one").content == "scripted first"
    assert llm.invoke("two").content == "echo: two"


def test_empty_queue_without_responder_is_a_clear_500(emu: OpenAIEmulator) -> None:
    with pytest.raises(TimeoutError):
        emu.wait_for_requests(1, timeout=0.05)
    with pytest.raises(openai.InternalServerError) as info:
        chat(emu).invoke(MESSAGES)
    assert "no scripted reply" in info.value.message


def test_models_endpoint_lists_test_model(emu: OpenAIEmulator) -> None:
    with openai.OpenAI(base_url=emu.base_url, api_key="test-key", max_retries=0) as client:
        assert [m.id for m in client.models.list().data] == ["test-model"]
    with urllib.request.urlopen(f"{emu.base_url}/models", timeout=2) as response:
        assert json.load(response)["object"] == "list"


def test_client_disconnect_mid_stream_does_not_break_the_server(emu: OpenAIEmulator) -> None:
    emu.script(Reply("x" * 400, chunks=["x"] * 400, chunk_delay=0.005), Reply("still alive"))
    payload = json.dumps({"model": "test-model", "stream": True, "messages": []}).encode()
    before = set(threading.enumerate())
    with socket.create_connection(("127.0.0.1", emu.port), timeout=2) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )
        assert b"text/event-stream" in sock.recv(4096)
    deadline = time.monotonic() + 1.5  # the 400-chunk stream would need 2 s if the handler kept going
    while any("process_request" in t.name for t in set(threading.enumerate()) - before):
        assert time.monotonic() < deadline, "handler thread still streaming to a closed socket"
        time.sleep(0.02)
    assert chat(emu).invoke(MESSAGES).content == "still alive"
