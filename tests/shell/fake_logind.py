#!/usr/bin/env python3
"""fake_logind.py UID READY: stands in for systemd-logind on the bus at
$DBUS_SYSTEM_BUS_ADDRESS, with logind's name, paths, interfaces and
signal arguments: owns org.freedesktop.login1; the Manager at
/org/freedesktop/login1 emits PrepareForSleep(b); two sessions,
/org/freedesktop/login1/session/mine of user UID and .../other of user
UID+1, answer org.freedesktop.DBus.Properties.Get for the Session's
User ((uo), as logind) and emit Lock.  Touches READY once it owns the
name, then takes commands, one a line, on standard input: "sleep"
(PrepareForSleep(true)), "wake" (PrepareForSleep(false)), "lock mine",
"lock other".  Each Get it answers is written to standard output."""
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

LOGIN1 = "org.freedesktop.login1"


class Manager(dbus.service.Object):
    @dbus.service.signal(LOGIN1 + ".Manager", signature="b")
    def PrepareForSleep(self, start):
        pass


class Session(dbus.service.Object):
    def __init__(self, bus, path, uid):
        super().__init__(bus, path)
        self.uid = uid
        self.path = path

    @dbus.service.method("org.freedesktop.DBus.Properties",
                         in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        print("Get %s %s %s" % (self.path, iface, prop), flush=True)
        if iface != LOGIN1 + ".Session" or prop != "User":
            raise dbus.exceptions.DBusException(
                "org.freedesktop.DBus.Error.UnknownProperty")
        return dbus.Struct(
            (dbus.UInt32(self.uid),
             dbus.ObjectPath("/org/freedesktop/login1/user/_%d" % self.uid)),
            signature="uo", variant_level=1)

    @dbus.service.signal(LOGIN1 + ".Session", signature="")
    def Lock(self):
        pass


def main():
    uid, ready = int(sys.argv[1]), sys.argv[2]
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
    name = dbus.service.BusName(LOGIN1, bus)
    manager = Manager(bus, "/org/freedesktop/login1")
    sessions = {
        "mine": Session(bus, "/org/freedesktop/login1/session/mine", uid),
        "other": Session(bus, "/org/freedesktop/login1/session/other",
                         uid + 1),
    }
    loop = GLib.MainLoop()

    def command(fd, cond):
        line = os.read(fd, 4096).decode()
        if not line:
            loop.quit()
            return False
        for word in line.splitlines():
            if word == "sleep":
                manager.PrepareForSleep(True)
            elif word == "wake":
                manager.PrepareForSleep(False)
            elif word.startswith("lock "):
                sessions[word[5:]].Lock()
        return True

    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, command)
    open(ready, "w").close()
    loop.run()
    del name


main()
