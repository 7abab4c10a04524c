"""Open a page in real headless Chromium through the DevTools protocol over a pipe
(--remote-debugging-pipe: no port, no websocket library) and say what happened: console
errors, page exceptions, dialogs, every request, values read from the page, a screenshot."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--remote-debugging-pipe")


def chromium() -> str:
    """The browser, or skip with the reason."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium here (.ci/run installs Debian's chromium where it can): "
                "the HTML report's browser tests need one")


@dataclass
class Visit:
    errors: list[str] = field(default_factory=list)      # console errors, exceptions, log errors
    requests: list[str] = field(default_factory=list)    # every URL the page asked for
    dialogs: list[str] = field(default_factory=list)     # alert() and friends
    values: dict = field(default_factory=dict)           # expression -> its value
    screenshot: bytes = b""


class _Pipe:
    def __init__(self, proc, out_fd: int, in_fd: int):
        self.proc, self.out, self.inp, self.buf, self.next_id = proc, out_fd, in_fd, b"", 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self.receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def receive(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            e = self.receive(deadline)
            self.events.append(e)
            if e.get("method") == method:
                return e


def visit(page: Path, expressions: tuple[str, ...] = (), width: int = 1200,
          height: int = 900) -> Visit:
    exe = chromium()
    to_child, from_parent = os.pipe()      # the browser reads commands on its fd 3
    to_parent, from_child = os.pipe()      # and writes replies on its fd 4

    def fds():
        a, b = os.dup(to_child), os.dup(from_child)
        os.dup2(a, 3)
        os.dup2(b, 4)

    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}",
                                 f"--window-size={width},{height}", "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=fds, pass_fds=(3, 4))
        os.close(to_child)
        os.close(from_child)
        pipe = _Pipe(proc, from_parent, to_parent)
        try:
            return _drive(pipe, page, expressions, width, height)
        finally:
            try:
                pipe.send("Browser.close", timeout=5)
            except Exception:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(from_parent)
            os.close(to_parent)


def _drive(pipe: _Pipe, page: Path, expressions, width: int, height: int) -> Visit:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                     "deviceScaleFactor": 1, "mobile": False},
              session=session)
    pipe.send("Page.addScriptToEvaluateOnNewDocument", {"source": (   # alert() must not block
        "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };")},
        session=session)
    pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
    pipe.wait_for("Page.loadEventFired")
    out = Visit()
    for expr in expressions:
        result = pipe.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expr}: {result['exceptionDetails']}")
        out.values[expr] = result["result"].get("value")
    shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                     session=session, timeout=60)
    out.screenshot = base64.b64decode(shot["data"])
    for e in pipe.events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.errors.append(json.dumps(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            out.errors.append(json.dumps(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            out.requests.append(params["request"]["url"])
        elif method == "Page.javascriptDialogOpening":
            out.dialogs.append(params.get("message", ""))
    return out
