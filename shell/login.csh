# sshenv for csh and tcsh: put this line in ~/.login (login shells only).
# Keys may be named at the end: sshenv init -c id_ed25519.
# csh has no 'command -v'; which is a builtin in tcsh and /usr/bin/which
# for csh.  The guard keeps a login working where sshenv is missing.
which sshenv >& /dev/null && eval `sshenv init -c`
