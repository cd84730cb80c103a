#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_ctl (tests/fuzz/corpus/ctl/): one file of
valid request frames and one of valid reply frames, in the encoding of
src/ctlproto.c at CTLPROTO_VERSION.  Run it again when the protocol
changes: seeds of an old version only reach the version check."""
import os
import struct
import sys

VERSION = 6


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v & 0xffffffff)


def s(text):
    b = text.encode()
    return u32(len(b)) + b


def frame(typ, body):
    return u32(len(body) + 1) + u8(typ) + body


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "corpus", "ctl")
    v = u32(VERSION)
    requests = b"".join([
        frame(1, v + u32(1234) + s("")),	# INIT
        frame(1, v + u32(77) + s("/tmp/ssh-XXXXabcd/agent.76")),
        frame(2, v),			# ENV
        frame(3, v + u32(99)),		# LOGOUT
        frame(4, v),			# STATUS
        frame(5, v),			# STOP
    ])
    status = (s("/tmp/a.sock") + u32(4242) + u32(4241) + u32(3) + u8(0) +
              u8(1) + s("stop") + s("running") + u8(1) + u32(2) +
              u32(100) + u32(200) + s("at 2026-11-29 17:20:05: killed by "
                                       "signal 9") +
              s("reload refused, the old settings stay: "
                "/home/u/.config/sshenv/config:3: linger: not a duration") +
              u32(1) + u32(42) + s("/tmp/ssh-XXXXabcd/agent.41") +
              s("listening to systemd-logind; last: suspend: keys "
                "forgotten at 17:21:00"))
    replies = b"".join([
        frame(64, b""),						# OK
        frame(65, s("/tmp/a.sock") + u32(4242) + s("") + u8(1)),	# ENV
        frame(65, s("/run/user/1000/sshenv/agent.sock") + u32(7) +
              s("~/.ssh/environment: not written by sshenv") + u8(0)),
        frame(66, status),					# STATUS
        frame(67, u32(0xffffffe8) + s("supervisor is stopping")),
    ])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "requests"), "wb") as f:
        f.write(requests)
    with open(os.path.join(out, "replies"), "wb") as f:
        f.write(replies)


if __name__ == "__main__":
    main()
