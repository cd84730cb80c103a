# sshenv for csh and tcsh: put this line in ~/.logout.
# Optional: the supervisor notices by itself that a login has ended; this
# only tells it at once, so that the logout policy applies sooner.
which sshenv >& /dev/null && sshenv logout -q
