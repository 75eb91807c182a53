#!/usr/bin/env python3
"""Slow clients against an HTTP server, for bench/load_bench.sh.

Keeps up to three kinds of connections going for --seconds, all from one
single-threaded event loop (standard library only):

  --slowloris N  N connections that each send a GET request header one byte
                 every --trickle seconds and never finish it; when the server
                 closes one, another replaces it (after --retry seconds if the
                 server answered, e.g. 503 for "too many connections").
  --stall N      N PUTs of a NAR with a large Content-Length (--stall-length)
                 that send the header and the first --stall-bytes of --nar-file,
                 then nothing; replaced in the same way.
  --probe-interval S
                 every S seconds a fresh connection (no keep-alive) GETs
                 --probe-path: does a new, normal client get served meanwhile?

Prints one JSON object: per kind, how many connections were opened, how they
ended (closed by the server without an answer, an answer's status, a reset,
still open at the end), and their lifetimes; for probes, the statuses and
latencies.
"""

import argparse
import errno
import json
import selectors
import socket
import time


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


class Conn:
    __slots__ = ("kind", "slot", "sock", "opened", "connected", "out", "trickle",
                 "rest", "next_send", "inbuf", "done")

    def __init__(self, kind, slot, sock, opened):
        self.kind = kind
        self.slot = slot
        self.sock = sock
        self.opened = opened
        self.connected = False
        self.out = b""  # sent as soon as the socket is writable
        self.trickle = False  # slowloris: one byte per interval, forever
        self.rest = b""  # slowloris: the header still to trickle
        self.next_send = 0.0
        self.inbuf = b""
        self.done = False


class Stats:
    def __init__(self):
        self.opened = 0
        self.connect_failed = 0
        self.outcomes = {}
        self.lifetimes = []  # of connections the server ended without answering
        self.answered_lifetimes = []
        self.open_at_end = 0
        self.oldest_open_at_end = 0.0

    def end(self, outcome, lifetime, answered):
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        (self.answered_lifetimes if answered else self.lifetimes).append(lifetime)

    def summary(self):
        def lt(values):
            return {
                "count": len(values),
                "p50_s": percentile(values, 50),
                "p99_s": percentile(values, 99),
                "max_s": max(values) if values else None,
            }

        return {
            "opened": self.opened,
            "connect_failed": self.connect_failed,
            "outcomes": self.outcomes,
            "unanswered_lifetime": lt(self.lifetimes),
            "answered_lifetime": lt(self.answered_lifetimes),
            "open_at_end": self.open_at_end,
            "oldest_open_at_end_s": round(self.oldest_open_at_end, 3),
        }


def status_of(data):
    # "HTTP/1.1 503 ..." -> "503"; a 100 Continue is skipped.
    while data.startswith(b"HTTP/"):
        line, _, rest = data.partition(b"\r\n")
        parts = line.split(b" ")
        if len(parts) < 2:
            return None
        if parts[1] == b"100":
            _, _, data = rest.partition(b"\r\n\r\n")
            continue
        return parts[1].decode("ascii", "replace")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--slowloris", type=int, default=0)
    ap.add_argument("--trickle", type=float, default=2.0)
    ap.add_argument("--loris-path", default="/")
    ap.add_argument("--stall", type=int, default=0)
    ap.add_argument("--stall-path-prefix", default="/bench/nar/")
    ap.add_argument("--stall-length", type=int, default=1 << 30)
    ap.add_argument("--stall-bytes", type=int, default=65536)
    ap.add_argument("--nar-file")
    ap.add_argument("--auth", default="", help="an Authorization header value for the PUTs")
    ap.add_argument("--probe-interval", type=float, default=0)
    ap.add_argument("--probe-path", default="/")
    ap.add_argument("--retry", type=float, default=1.0)
    ap.add_argument("--connects-per-tick", type=int, default=100)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    stats = {"slowloris": Stats(), "stall": Stats(), "probe": Stats()}
    probe_latencies = []
    want = {"slowloris": args.slowloris, "stall": args.stall}
    # slot -> earliest time it may reconnect
    slots = {k: [0.0] * n for k, n in want.items()}
    live = {k: [None] * n for k, n in want.items()}
    stall_prefix = b""
    if args.stall:
        with open(args.nar_file, "rb") as f:
            stall_prefix = f.read(args.stall_bytes)
    nix32 = "0123456789abcdfghijklmnpqrsvwxyz"
    upload_counter = [0]

    def unique_nar_name():
        upload_counter[0] += 1
        n = upload_counter[0] + int(time.time() * 1000) * 1000003
        chars = []
        for _ in range(52):
            chars.append(nix32[n % 32])
            n //= 32
        return "".join(chars)

    def open_conn(kind, slot, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((args.host, args.port))
        stats[kind].opened += 1
        if err not in (0, errno.EINPROGRESS):
            stats[kind].connect_failed += 1
            s.close()
            if slot is not None:
                slots[kind][slot] = now + args.retry
            return
        c = Conn(kind, slot, s, now)
        if kind == "slowloris":
            # The first byte on connect, then the rest of the header a byte
            # per interval, then an endless X-Slow value.
            head = ("GET %s HTTP/1.1\r\nHost: %s\r\nX-Slow: " % (args.loris_path, args.host)).encode()
            c.out, c.rest, c.trickle = head[:1], head[1:], True
        elif kind == "stall":
            head = ("PUT %s%s.nar HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-nix-nar\r\n"
                    "Content-Length: %d\r\n%s\r\n" % (
                        args.stall_path_prefix, unique_nar_name(), args.host, args.stall_length,
                        ("Authorization: %s\r\n" % args.auth) if args.auth else "")).encode()
            c.out = head + stall_prefix
        else:
            c.out = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
                args.probe_path, args.host)).encode()
        if slot is not None:
            live[kind][slot] = c
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

    def finish(c, outcome, now, answered):
        if c.done:
            return
        c.done = True
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        life = now - c.opened
        stats[c.kind].end(outcome, life, answered)
        if c.kind == "probe":
            if outcome == "200":
                probe_latencies.append(life)
        elif c.slot is not None:
            live[c.kind][c.slot] = None
            slots[c.kind][c.slot] = now + (args.retry if answered else 0.0)

    start = time.monotonic()
    end = start + args.seconds
    next_probe = start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        # refill the slots, a bounded number per tick (no connect storm)
        budget = args.connects_per_tick
        for kind in ("slowloris", "stall"):
            for slot in range(want[kind]):
                if budget == 0:
                    break
                if live[kind][slot] is None and slots[kind][slot] <= now:
                    open_conn(kind, slot, now)
                    budget -= 1
        if args.probe_interval and now >= next_probe:
            open_conn("probe", None, now)
            next_probe += args.probe_interval
        # trickle one more byte on each slowloris connection that is due
        for c in list(live["slowloris"]):
            if c is None or c.done or not c.connected or c.next_send > now:
                continue
            byte, c.rest = (c.rest[:1], c.rest[1:]) if c.rest else (b"a", b"")
            try:
                c.sock.send(byte)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                finish(c, "reset", now, False)
                continue
            c.next_send = now + args.trickle
        for key, events in sel.select(timeout=0.05):
            c = key.data
            now = time.monotonic()
            if c.done:
                continue
            if events & selectors.EVENT_WRITE:
                if not c.connected:
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        stats[c.kind].connect_failed += 1
                        finish(c, "connect-failed", now, True)
                        continue
                    c.connected = True
                    if c.trickle:
                        c.next_send = now + args.trickle
                try:
                    while c.out:
                        n = c.sock.send(c.out)
                        c.out = c.out[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    # the server may have answered (and closed) before we sent it all
                    pass
                if not c.out:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
            if events & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    st = status_of(c.inbuf)
                    finish(c, st or "reset", now, st is not None)
                    continue
                if data:
                    c.inbuf += data
                    if len(c.inbuf) > 1 << 20:
                        c.inbuf = c.inbuf[:1 << 20]
                    continue
                st = status_of(c.inbuf)
                finish(c, st or "closed", now, st is not None)
    now = time.monotonic()
    for kind in ("slowloris", "stall"):
        for c in live[kind]:
            if c is not None and not c.done:
                stats[kind].open_at_end += 1
                stats[kind].oldest_open_at_end = max(stats[kind].oldest_open_at_end, now - c.opened)
    for key in list(sel.get_map().values()):
        c = key.data
        if c.kind == "probe" and not c.done:
            finish(c, "unfinished", now, False)
        else:
            c.sock.close()

    out = {"seconds": args.seconds}
    for kind in ("slowloris", "stall"):
        if want[kind]:
            out[kind] = stats[kind].summary()
    if args.probe_interval:
        p = stats["probe"]
        out["probe"] = {
            "sent": p.opened,
            "statuses": p.outcomes,
            "ok_p50_ms": None if not probe_latencies else round(percentile(probe_latencies, 50) * 1000, 2),
            "ok_p99_ms": None if not probe_latencies else round(percentile(probe_latencies, 99) * 1000, 2),
            "ok_max_ms": None if not probe_latencies else round(max(probe_latencies) * 1000, 2),
        }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
