# sshenv for every user of this host (installed by the sshenv package in
# fish's vendor_conf.d): fish reads it in every shell, hence the is-login
# test.  It does nothing unless /etc/sshenv.conf says "all_users = yes"
# under [login] and the user's own config does not say no.  A user's own
# ~/.config/fish/conf.d/sshenv.fish (the line of the README) takes its
# place, so such a user runs init once.
if status is-login; and test -x @BINDIR@/sshenv
    @BINDIR@/sshenv init -f --all-users | source
end
