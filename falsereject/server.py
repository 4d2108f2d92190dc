"""A minimal OpenAI-compatible chat-completions server on loopback.

It puts any Python reply function behind the API that both harnesses speak
(lm-eval's ``local-chat-completions``, Inspect's ``openai-api/...``), which is how ``make demo``
runs its rule-based model through the real harness CLIs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (model name, chat messages) -> assistant reply: its text, or the message's fields
# ({"content": ..., "reasoning": ...}, as a reasoning model's server answers)
Reply = Callable[[str, list[dict[str, Any]]], str | dict[str, str]]


class ReplyError(Exception):
    """Raised by a reply function to answer with an HTTP error instead (429, 500, ...)."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


@contextmanager
def serve(reply: Reply, host: str = "127.0.0.1", port: int = 0,
          on_request: Callable[[dict[str, Any]], None] | None = None) -> Iterator[str]:
    """Serve ``reply`` until the block ends; yields the base URL (``http://host:port/v1``).
    ``on_request`` sees each request body whole (sampling settings, ``response_format``)."""
    server = _Server((host, port), _handler(reply, on_request or (lambda body: None)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops bursts of concurrent clients


def text_of(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _handler(reply: Reply,
             on_request: Callable[[dict[str, Any]], None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep harness output readable
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": []})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            model, messages = body.get("model", ""), body.get("messages", [])
            on_request(body)
            try:
                message = reply(model, messages)
            except ReplyError as err:
                headers = {"Retry-After": f"{err.retry_after:g}"} if err.retry_after else {}
                self._send(err.status, {"error": {"message": str(err)}}, headers)
                return
            message = {"content": message} if isinstance(message, str) else message
            content = message["content"]
            prompt_tokens = sum(len(text_of(m).split()) for m in messages)
            # a word stands for a token: a reply over max_tokens is cut there, as servers do
            words, limit = content.split(), body.get("max_tokens") or body.get(
                "max_completion_tokens")
            finish = "stop"
            if isinstance(limit, int) and len(words) > limit:
                content, finish = " ".join(words[:limit]), "length"
            completion_tokens = min(len(words), limit) if isinstance(limit, int) else len(words)
            self._send(
                200,
                {
                    "id": f"chatcmpl-{time.monotonic_ns()}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {**message, "role": "assistant", "content": content},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )

        def _send(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
