/*
 * elfsym: whether a shared object defines a function, read from its file
 * before anything of it is loaded (dlopen runs a library's constructors:
 * a library that is not a PKCS#11 module or FIDO middleware must be
 * refused before that).  Bounds-checked throughout: the file is input.
 */
#ifndef SSHENV_ELFSYM_H
#define SSHENV_ELFSYM_H

/*
 * 0 if the ELF shared object at path (of this machine's class and byte
 * order) exports each of the NULL-terminated names as a defined function;
 * ERR_NOT_PROVIDER if it is not such an object or lacks one; ERR_SYSTEM
 * if it cannot be read.  Where objects are not ELF (Cygwin), 0: the
 * check is left to dlsym.
 */
int elfsym_exports(const char *path, const char *const *names);

#endif
