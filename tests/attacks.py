#!/usr/bin/env python3
"""Attacks that must stay bounded (issue 41), against a real `idv serve` on loopback.

Each attack measures the server's resident memory (VmRSS, VmHWM) around it and fails when
it grows beyond its bound:
  - 300 `POST /auth/token` with distinct 1 MB user names (no valid credential): RSS +40 MB
    at most, and the throttling warning logged at most once every 10 s;
  - 2,000 requests whose method is made up (`X<uuid>` + 30 KB): RSS +40 MB at most;
  - a 62 MB JSON body of 5.3 million tiny members with a valid key: answered 400, peak
    RSS +200 MB and +60 MB kept at most.

and one that must not shut others out: with `--max-connections 20 --idle-timeout 10`, 20
clients trickling a header line every 6 s (reconnecting a second after they are closed) while
fresh `GET /health` requests come: each fresh one answered within 3 s.

Usage: tests/attacks.py path/to/idv   (models found as `idv serve` finds them)
"""
import json
import os
import socket
import subprocess
import threading
import sys
import tempfile
import time
import uuid

IDV = sys.argv[1] if len(sys.argv) > 1 else "target/release/idv"


def status_of(proc):
    text = open(f"/proc/{proc.pid}/status").read()
    field = lambda k: int(next(l for l in text.splitlines() if l.startswith(k)).split()[1]) // 1024
    return field("VmRSS:"), field("VmHWM:")


def send(addr, raw):
    """Sends one request on its own connection; the status line's first bytes."""
    with socket.create_connection(addr, timeout=120) as s:
        s.sendall(raw)
        try:
            return s.recv(64)[:12]
        except OSError:
            return b""


def start(data, *flags, log=subprocess.DEVNULL):
    """`idv serve` on a free loopback port: the process and its address."""
    server = subprocess.Popen([IDV, "serve", "--data", data, "--addr", "127.0.0.1:0", *flags],
                              stdout=subprocess.PIPE, stderr=log, text=True)
    url = server.stdout.readline().strip().removeprefix("idv listening on http://")
    host, port = url.rsplit(":", 1)
    time.sleep(2)
    return server, (host, int(port))


def slow_headers(data, failures):
    """20 trickling clients must not keep a fresh request from its answer."""
    server, addr = start(data, "--max-connections", "20", "--idle-timeout", "10")
    stop = threading.Event()
    reconnects = [0]

    def trickle(i):
        while not stop.is_set():
            try:
                # Each from its own loopback address, as from many clients.
                s = socket.create_connection(addr, timeout=5, source_address=(f"127.0.0.{i + 2}", 0))
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                while not stop.wait(6):
                    s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                reconnects[0] += 1
                stop.wait(1)

    threads = [threading.Thread(target=trickle, args=(i,), daemon=True) for i in range(20)]
    try:
        for t in threads:
            t.start()
        time.sleep(3)
        waits = []
        for _ in range(4):
            t0 = time.monotonic()
            try:
                with socket.create_connection(addr, timeout=3) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    answer = s.recv(64)[:12]
            except OSError:
                answer = b""
            waits.append(time.monotonic() - t0)
            if not answer.startswith(b"HTTP/1.1 200"):
                failures.append(f"a fresh request beside 20 trickling clients got {answer!r} "
                                f"after {waits[-1]:.1f} s")
            time.sleep(5)
        print(f"attack: 20 trickling clients: fresh requests answered in "
              f"{', '.join(f'{w:.2f}' for w in waits)} s; tricklers closed and back "
              f"{reconnects[0]} times")
    finally:
        stop.set()
        server.terminate()
        server.wait()


def main():
    data = tempfile.mkdtemp(prefix="idv-attacks-")
    out = subprocess.run([IDV, "tenant", "create", "acme", "--data", data],
                         check=True, capture_output=True, text=True).stdout
    api_key = json.loads(out)["api_key"]
    failures = []
    slow_headers(data, failures)
    log = open(os.path.join(data, "serve.log"), "w+")
    server, addr = start(data, log=log)
    try:
        t0 = time.monotonic()

        before, _ = status_of(server)
        answers = []
        for i in range(300):
            # Each name its own: a budget keyed by name would keep every one.
            body = json.dumps({"user": f"{i}-" + "u" * (1 << 20), "password": "x"}).encode()
            head = (b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            answers.append(send(addr, head + body))
        assert all(a.split(b" ")[1] in (b"401", b"429") for a in answers), set(answers)
        time.sleep(1)
        after, _ = status_of(server)
        print(f"attack: 300 sign-ins with 1 MB names: RSS {before} -> {after} MB")
        if after - before > 40:
            failures.append(f"sign-ins with huge names kept {after - before} MB")
        # Throttled sign-ins are logged at most once every 10 s, however many there are.
        log.seek(0)
        lines = sum("sign-in throttled" in l for l in log)
        bound = int((time.monotonic() - t0) / 10) + 1
        print(f"attack: 'sign-in throttled' logged {lines} times in "
              f"{time.monotonic() - t0:.0f} s")
        if lines > bound:
            failures.append(f"'sign-in throttled' logged {lines} times (at most {bound})")

        before = after
        for _ in range(2000):
            method = ("X" + uuid.uuid4().hex + "y" * 30000).encode()
            send(addr, method + b" /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(1)
        after, _ = status_of(server)
        print(f"attack: 2,000 made-up methods: RSS {before} -> {after} MB")
        if after - before > 40:
            failures.append(f"made-up methods kept {after - before} MB")

        before = after
        body = ("{" + ",".join(f'"{i}":1' for i in range(5_300_000)) + "}").encode()
        head = (b"POST /v1/verify-identity HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (api_key.encode(), len(body)))
        answer = send(addr, head + body)
        time.sleep(1)
        after, peak = status_of(server)
        print(f"attack: {len(body) / 1e6:.1f} MB of JSON members: {answer!r}; RSS {before} -> "
              f"peak {peak} -> {after} MB")
        if not answer.startswith(b"HTTP/1.1 400"):
            failures.append(f"the field-count bomb was answered {answer!r}")
        if peak - before > 200 or after - before > 60:
            failures.append(f"the field-count bomb cost {peak - before} MB at peak, kept "
                            f"{after - before} MB")
    finally:
        server.terminate()
        server.wait()
    if failures:
        sys.exit("attacks not bounded: " + "; ".join(failures))
    print("attacks: every bound held")


if __name__ == "__main__":
    main()
