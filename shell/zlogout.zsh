# sshenv for zsh: put this line in ~/.zlogout.
# Optional: the supervisor notices by itself that a login has ended; this
# only tells it at once, so that the logout policy applies sooner.
if command -v sshenv >/dev/null 2>&1; then sshenv logout -q; fi
