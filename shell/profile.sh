# sshenv for sh-family login shells (sh, dash, ksh, bash).
# Put this line in ~/.profile, or in ~/.bash_profile if you have one (bash
# then skips ~/.profile).  The first login starts the agent, later logins
# reuse it; keys may be named at the end: sshenv init -s id_ed25519.
# -s: .profile is only read by sh-like shells, whatever $SHELL says.
# The guard keeps a login working, with status 0, where sshenv is missing.
if command -v sshenv >/dev/null 2>&1; then eval "$(sshenv init -s)"; fi
