#!/bin/sh
# `make run`: sshenv at work for the current user, as a login profile would
# use it: start (or reuse) the supervisor and agent, point this shell at
# it, ask the agent something with the real ssh-add, show the status.
set -u
bin=${1:-build/sshenv}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac

echo '$ eval "$(sshenv init)"'
snippet=$("$bin" init -s) || exit 1
eval "$snippet"
echo "$snippet"
echo
echo '$ ssh-add -l'
ssh-add -l
rc=$?
# 1 is the agent's "no identities": an answer, not a failure.
[ "$rc" -le 1 ] || exit 1
echo
echo '$ sshenv status'
"$bin" status || exit 1
echo
echo "The agent serves every shell of this login session and stops when the"
echo "last one ends.  'sshenv stop' ends it now; 'sshenv doctor' checks it."
