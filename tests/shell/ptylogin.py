#!/usr/bin/env python3
"""ptylogin.py TRANSCRIPT STEP...: runs `bash --login` on a new pseudo-
terminal, as sshd or login(1) would, and plays STEPs against it:
  expect:TEXT   wait (30 s at most) until TEXT has appeared since the last
                expect; exit 2 if it never does
  send:TEXT     type TEXT (\\n and \\x03 as in Python strings: \\x03 is
                Ctrl-C, which the terminal turns into SIGINT for the
                foreground process group)
  reading:      wait (30 s at most) until a process of the terminal's
                foreground group is blocked reading (a prompt printed
                is not yet a read: a signal between the two is only
                noted, and the read then waits for a key); where
                /proc/PID/syscall may not be read (no ptrace right), a
                sleeping process of that group and half a second
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

    def reading():
        """A process of the foreground group sits in read(2)."""
        try:
            group = os.tcgetpgrp(fd)
        except OSError:
            return False
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) != group or fields[0] != "S":
                    continue
            except (OSError, IndexError, ValueError):
                continue
            try:
                with open("/proc/%s/syscall" % name) as f:
                    if f.read().split()[0] == "0":
                        return True
            except (OSError, IndexError):
                # Not ours to look into (no ptrace right): asleep in
                # the foreground group is as near as we can see.
                return None
        return False

    for step in steps:
        kind, _, text = step.partition(":")
        text = text.encode().decode("unicode_escape").encode()
        if kind == "send":
            os.write(fd, text)
            continue
        if kind == "reading":
            deadline = time.time() + 30
            while True:
                state = reading()
                if state:
                    break
                if state is None:
                    # Unseen: give the prompt's process a moment.
                    pump(0.5)
                    break
                if time.time() > deadline:
                    sys.stderr.write("nobody came to read\n")
                    os.kill(pid, 9)
                    sys.exit(2)
                pump(0.01)
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
