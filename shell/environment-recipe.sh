# The classic recipe, for scripts and cron jobs that are not part of a
# login: read the agent's settings from ~/.ssh/environment, which sshenv
# keeps true (for this host) while any of your sessions runs.  No sshenv
# binary is needed.  Where sshenv is installed, this does the same by
# asking the supervisor itself:  eval "$(sshenv env -s)"
if [ -r "$HOME/.ssh/environment" ]; then
	. "$HOME/.ssh/environment" >/dev/null; fi
