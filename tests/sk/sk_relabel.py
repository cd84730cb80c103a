#!/usr/bin/python3
"""sk_relabel SRC DST APPLICATION: copy the unencrypted OpenSSH private key
SRC of an sk key (sk-ssh-ed25519@openssh.com or sk-ecdsa-sha2-nistp256@
openssh.com) to DST (and DST.pub) with its application string replaced.

Why: ssh-keygen enrolls only applications that start with "ssh:", but an
agent treats a key of any other ("web-like") application differently: it
signs only SSH userauth requests and SSHSIG blobs with it.  sk-soft's key
handles are not bound to their application, so the relabelled key still
signs, for the new application.

File format: OpenSSH's PROTOCOL.key ("openssh-key-v1"), cipher "none".
"""
import base64
import os
import struct
import sys

MAGIC = b"openssh-key-v1\0"
PUB_FIELDS = {  # public fields between the type and the application
    b"sk-ssh-ed25519@openssh.com": 1,  # pk
    b"sk-ecdsa-sha2-nistp256@openssh.com": 2,  # curve, Q
}


class Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def take(self, n):
        if self.off + n > len(self.data):
            raise ValueError("truncated")
        b = self.data[self.off:self.off + n]
        self.off += n
        return b

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def string(self):
        return self.take(self.u32())

    def rest(self):
        return self.data[self.off:]


def s(b):
    return struct.pack(">I", len(b)) + b


def relabel_fields(r, app):
    """The type, its public fields and the application from R, the
    application replaced by APP, serialized again."""
    ktype = r.string()
    if ktype not in PUB_FIELDS:
        raise ValueError("not an sk key: %r" % ktype)
    out = s(ktype)
    for _ in range(PUB_FIELDS[ktype]):
        out += s(r.string())
    r.string()  # the old application
    return ktype, out + s(app)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: sk_relabel SRC DST APPLICATION")
    src, dst, app = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    lines = open(src).read().split("\n")
    body = "".join(l for l in lines if l and not l.startswith("-----"))
    r = Reader(base64.b64decode(body))
    if r.take(len(MAGIC)) != MAGIC:
        raise ValueError("not an openssh-key-v1 file")
    cipher, kdf, kdfopts = r.string(), r.string(), r.string()
    if cipher != b"none" or kdf != b"none" or r.u32() != 1:
        raise ValueError("encrypted, or not one key")
    _, pub = relabel_fields(Reader(r.string()), app)
    priv = Reader(r.string())
    check = priv.take(8)
    ktype, sec = relabel_fields(priv, app)
    flags = priv.take(1)
    sec += flags + s(priv.string()) + s(priv.string())  # handle, reserved
    comment = priv.string()
    sec = check + sec + s(comment)
    pad = 1
    while len(sec) % 8:
        sec += bytes([pad])
        pad += 1
    out = MAGIC + s(cipher) + s(kdf) + s(kdfopts) + struct.pack(">I", 1)
    out += s(pub) + s(sec)
    b64 = base64.b64encode(out).decode()
    text = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    text += "".join(b64[i:i + 70] + "\n" for i in range(0, len(b64), 70))
    text += "-----END OPENSSH PRIVATE KEY-----\n"
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    with open(dst + ".pub", "w") as f:
        f.write("%s %s %s\n" % (ktype.decode(), base64.b64encode(pub).decode(),
                                comment.decode()))


if __name__ == "__main__":
    main()
