#!/usr/bin/env python3
"""ptylogin.py TRANSCRIPT STEP...: runs `bash --login` on a new pseudo-
terminal, as sshd or login(1) would, and plays STEPs against it:
  expect:TEXT   wait (30 s at most) until TEXT has appeared since the last
                expect; exit 2 if it never does
  send:TEXT     type TEXT (\\n and \\x03 as in Python strings: \\x03 is
                Ctrl-C, which the terminal turns into SIGINT for the
                foreground process group)
Everything the terminal showed is written to TRANSCRIPT.  Exit 0 once all
steps ran and the shell has exited."""
import os
import pty
import select
import sys
import time


def main():
    transcript, steps = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("bash", ["bash", "--login"])
    seen = b""
    pos = 0
    out = open(transcript, "wb")

    def pump(timeout):
        nonlocal seen
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out.write(data)
        out.flush()
        seen += data
        return True

    for step in steps:
        kind, _, text = step.partition(":")
        text = text.encode().decode("unicode_escape").encode()
        if kind == "send":
            os.write(fd, text)
            continue
        deadline = time.time() + 30
        while seen.find(text, pos) < 0:
            if time.time() > deadline or not pump(0.1):
                if seen.find(text, pos) >= 0:
                    break
                sys.stderr.write("never saw %r\n" % text)
                os.kill(pid, 9)
                sys.exit(2)
        pos = seen.find(text, pos) + len(text)
    deadline = time.time() + 30
    while time.time() < deadline and pump(0.1):
        pass
    _, status = os.waitpid(pid, 0)
    sys.exit(0)


main()
