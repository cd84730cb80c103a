# sshenv for fish: put this file in ~/.config/fish/conf.d/ (fish reads
# every file there, for every shell: hence the is-login test).
# Keys may be named at the end: sshenv init -f id_ed25519.
# type -q: the guard keeps a login working where sshenv is missing.
if status is-login; and type -q sshenv
    sshenv init -f | source
end
