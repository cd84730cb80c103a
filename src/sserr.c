#include "sserr.h"

static const char *const messages[] = {
	[0] = "success",
	[-ERR_INTERNAL] = "internal error",
	[-ERR_ALLOC] = "out of memory",
	[-ERR_TRUNCATED] = "message truncated",
	[-ERR_FORMAT] = "invalid format",
	[-ERR_TOO_LONG] = "too long",
	[-ERR_TRAILING] = "unexpected trailing data",
	[-ERR_KEY_TYPE] = "unsupported key type",
	[-ERR_KEY_INVALID] = "invalid key",
	[-ERR_CERT_INVALID] = "invalid certificate",
	[-ERR_SIG_INVALID] = "signature verification failed",
	[-ERR_CRYPTO] = "cryptographic library error",
	[-ERR_NOT_FOUND] = "not found",
	[-ERR_EXISTS] = "already exists",
	[-ERR_LOCKED] = "agent is locked",
	[-ERR_DENIED] = "permission denied",
	[-ERR_UNSUPPORTED] = "not supported",
	[-ERR_SYSTEM] = "system error",
	[-ERR_PATH_TOO_LONG] = "path too long for a unix socket",
	[-ERR_BAD_OWNER] = "owned by another user",
	[-ERR_BAD_MODE] = "permissions too open",
	[-ERR_SYMLINK] = "is a symbolic link",
	[-ERR_NOT_OURS] = "not written by sshenv",
	[-ERR_UNSAFE_VALUE] = "value cannot be quoted safely for the shell",
	[-ERR_BUSY] = "busy",
	[-ERR_USAGE] = "usage error",
	[-ERR_CONFIG] = "configuration error",
	[-ERR_NO_SERVER] = "no server answers",
	[-ERR_PROTOCOL] = "protocol error",
	[-ERR_FULL] = "full",
	[-ERR_PIN] = "PIN incorrect or required",
	[-ERR_NOT_PROVIDER] = "not a PKCS#11 module or FIDO middleware",
	[-ERR_TIMEOUT] = "no answer in time",
};

const char *
sserr_str(int code)
{
	if (code > 0 || code < ERR_LAST || messages[-code] == 0)
		return "unknown error";
	return messages[-code];
}
