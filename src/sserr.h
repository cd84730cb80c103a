/*
 * sserr: the project's error codes.  Library modules return 0 or one of these
 * negative codes and never print; the CLI and the daemons turn a code into
 * words with sserr_str() in one place.
 */
#ifndef SSHENV_SSERR_H
#define SSHENV_SSERR_H

enum {
	ERR_OK = 0,
	ERR_INTERNAL = -1,	 /* a bug: an invariant did not hold */
	ERR_ALLOC = -2,		 /* out of memory */
	ERR_TRUNCATED = -3,	 /* input ended before the field did */
	ERR_FORMAT = -4,	 /* malformed input */
	ERR_TOO_LONG = -5,	 /* over a size limit */
	ERR_TRAILING = -6,	 /* bytes left after a complete message */
	ERR_KEY_TYPE = -7,	 /* key or signature type not supported */
	ERR_KEY_INVALID = -8,	 /* key material inconsistent or weak */
	ERR_CERT_INVALID = -9,	 /* certificate malformed or badly signed */
	ERR_SIG_INVALID = -10,	 /* signature did not verify */
	ERR_CRYPTO = -11,	 /* libcrypto failed */
	ERR_NOT_FOUND = -12,	 /* no such key, session, entry */
	ERR_EXISTS = -13,	 /* already there */
	ERR_LOCKED = -14,	 /* the agent is locked */
	ERR_DENIED = -15,	 /* refused by policy or by the user */
	ERR_UNSUPPORTED = -16,	 /* a request or constraint we do not know */
	ERR_SYSTEM = -17,	 /* a system call failed: see errno */
	ERR_PATH_TOO_LONG = -18, /* socket path over sun_path */
	ERR_BAD_OWNER = -19,	 /* file or dir owned by someone else */
	ERR_BAD_MODE = -20,	 /* file or dir with loose permissions */
	ERR_SYMLINK = -21,	 /* a symlink where a real file was required */
	ERR_NOT_OURS = -22,	 /* a file we did not write */
	ERR_UNSAFE_VALUE = -23,	 /* a value the shell cannot be given safely */
	ERR_BUSY = -24,		 /* try again later */
	ERR_USAGE = -25,	 /* bad command line */
	ERR_CONFIG = -26,	 /* bad configuration */
	ERR_NO_SERVER = -27,	 /* nothing answers on the socket */
	ERR_PROTOCOL = -28,	 /* peer broke the protocol */
	ERR_FULL = -29,		 /* at a bound: no room for more */
	ERR_PIN = -30,		 /* a token's PIN: wrong, or needed */
	ERR_NOT_PROVIDER = -31,	 /* not a PKCS#11 module or FIDO middleware */
	ERR_TIMEOUT = -32,	 /* no answer in time */
	ERR_LAST = -32
};

/* A static, human-readable message for code; never NULL. */
const char *sserr_str(int code);

#endif
