#!/usr/bin/env python3
"""Records the frames real OpenSSH tools send to an agent, as seeds for
fuzz_agent: listens on LISTEN, relays each connection to AGENT, and writes
every client-to-agent connection's bytes to OUTDIR/conn-NNN.

usage: capture.py LISTEN AGENT OUTDIR   (stop it with SIGTERM)
"""
import os
import socket
import sys
import threading

listen, agent, outdir = sys.argv[1:4]
os.makedirs(outdir, exist_ok=True)
counter = [0]
lock = threading.Lock()


def pump(src, dst, record):
    while True:
        data = src.recv(65536)
        if not data:
            break
        if record is not None:
            record.append(data)
        dst.sendall(data)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    upstream = socket.socket(socket.AF_UNIX)
    upstream.connect(agent)
    sent = []
    back = threading.Thread(target=pump, args=(upstream, client, None))
    back.start()
    pump(client, upstream, sent)
    back.join()
    with lock:
        counter[0] += 1
        n = counter[0]
    with open(os.path.join(outdir, "conn-%03d" % n), "wb") as f:
        f.write(b"".join(sent))
    client.close()
    upstream.close()


srv = socket.socket(socket.AF_UNIX)
srv.bind(listen)
srv.listen(16)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
