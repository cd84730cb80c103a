# sshenv for every user of this host (installed by the sshenv package as
# /etc/profile.d/sshenv.sh): /etc/profile sources it for login shells of
# the sh family, and zsh with the line sshenv(1) gives for
# /etc/zsh/zprofile.  It does nothing unless /etc/sshenv.conf says
# "all_users = yes" under [login] and the user's own config does not say
# no.  A missing binary costs the login nothing, nor does one that fails:
# its output, empty then, is all that is evaluated.
if [ -x @BINDIR@/sshenv ]; then
	eval "$(@BINDIR@/sshenv init -s --all-users)"
fi
