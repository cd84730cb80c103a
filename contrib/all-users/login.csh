# sshenv for every user of this host (installed by the sshenv package as
# /etc/csh/login.d/sshenv): /etc/csh.login sources it for csh and tcsh
# login shells.  It does nothing unless /etc/sshenv.conf says
# "all_users = yes" under [login] and the user's own config does not say
# no.  A missing binary costs the login nothing.
if ( -x @BINDIR@/sshenv ) eval `@BINDIR@/sshenv init -c --all-users`
