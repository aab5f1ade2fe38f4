#!/usr/bin/env bash
# install.sh: install chiso's systemd units, its system user and the example
# configuration files (deploy/systemd/README.md).
#
# Idempotent: a unit or the sysusers file is replaced only when it differs
# from this directory's; a configuration file that exists is never touched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The prefix the units' ExecStart= lines name (cmake --install's default);
# --prefix rewrites it.
unit_prefix=/usr/local
root=/
prefix=$unit_prefix
dry_run=false
changed_units=false

usage() {
    cat <<EOF
usage: $(basename "$0") [--root DIR] [--prefix DIR] [--dry-run]

Installs, under DIR (default /):
  /etc/systemd/system/   chiso.target and one unit per stage (replaced when
                         they differ from $here)
  /etc/sysusers.d/chiso.conf, then creates the user and group chiso with
                         systemd-sysusers
  /etc/chiso/            the example configuration files, root:chiso 0640 in
                         a root:chiso 0750 directory; an existing file is kept
and, when DIR is / and systemd runs, reloads systemd. Enables and starts
nothing (deploy/systemd/README.md, "Start").

options:
  --root DIR    install into DIR instead of / (an image, a container, a test)
  --prefix DIR  where \`cmake --install BUILD --prefix DIR\` put the programs:
                the units run DIR/bin/chiso-* (default $unit_prefix)
  --dry-run     print what would be done, change nothing
  -h, --help    show this help
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

say() {
    echo "install.sh: $*"
}

while [ $# -gt 0 ]; do
    case $1 in
    --root)
        [ $# -ge 2 ] || die "--root needs a directory (see --help)"
        root=$2
        shift 2
        ;;
    --prefix)
        [ $# -ge 2 ] || die "--prefix needs a directory (see --help)"
        prefix=$2
        shift 2
        ;;
    --root=*) root=${1#*=}; shift ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done

case $prefix in
/*) prefix=${prefix%/} ;;
*) die "--prefix must be an absolute path, got '$prefix'" ;;
esac
[ -d "$root" ] || die "--root: '$root' is not a directory"
root=$(cd "$root" && pwd)
$dry_run || [ "$(id -u)" -eq 0 ] || die "run as root (files are installed root:chiso), or with --dry-run"
command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found (Debian: apt-get install systemd)"

# The path of $1 (absolute, as on the target system) under the root.
under_root() {
    printf '%s%s' "${root%/}" "$1"
}

# The group id of chiso in the root's /etc/group, empty when there is none.
chiso_gid() {
    local group
    group=$(under_root /etc/group)
    if [ -f "$group" ]; then
        awk -F: '$1 == "chiso" { print $3 }' "$group"
    fi
}

# Install the file $1 as $2 (a path on the target system), mode 0644
# root:root, unless it is already there with this content. Returns 0 when
# it installed (or would install) it, 1 when it was there.
install_same() {
    local src=$1 dest
    dest=$(under_root "$2")
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        return 1
    fi
    if $dry_run; then
        say "would install $2"
    else
        install -D -m 0644 -o 0 -g 0 "$src" "$dest"
        say "installed $2"
    fi
}

# The units, with ExecStart= under the chosen prefix.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
programs=()
for unit in "$here"/chiso.target "$here"/*.service; do
    name=$(basename "$unit")
    if [ "${name##*.}" = service ]; then
        exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
        case $exec_start in
        "$unit_prefix"/bin/*) programs+=("${exec_start%% *}") ;;
        *) die "$name: ExecStart= does not start with $unit_prefix/bin/" ;;
        esac
    fi
    sed "s|^ExecStart=$unit_prefix/bin/|ExecStart=$prefix/bin/|" "$unit" >"$tmp/$name"
    if install_same "$tmp/$name" "/etc/systemd/system/$name"; then
        changed_units=true
    fi
done

# The user and group.
install_same "$here/sysusers.d/chiso.conf" /etc/sysusers.d/chiso.conf || true
if $dry_run; then
    [ -n "$(chiso_gid)" ] || say "would create the user and group chiso (systemd-sysusers)"
else
    if [ "$root" = / ]; then
        systemd-sysusers chiso.conf
    else
        systemd-sysusers --root="$root" chiso.conf
    fi
    [ -n "$(chiso_gid)" ] || die "systemd-sysusers did not create the group chiso"
fi
gid=$(chiso_gid)

# The configuration directory and files: readable by the services only.
conf_dir=$(under_root /etc/chiso)
if [ ! -d "$conf_dir" ] || [ "$(stat -c '%a %u %g' "$conf_dir")" != "750 0 $gid" ]; then
    if $dry_run; then
        say "would make /etc/chiso root:chiso 0750"
    else
        install -d -m 0750 -o 0 -g "$gid" "$conf_dir"
        say "made /etc/chiso root:chiso 0750"
    fi
fi
for conf in "$here"/etc/chiso/*.conf; do
    name=/etc/chiso/$(basename "$conf")
    dest=$(under_root "$name")
    if [ -e "$dest" ]; then
        say "kept $name (it exists)"
        [ -z "$gid" ] || [ "$(stat -c '%a %u %g' "$dest")" = "640 0 $gid" ] ||
            say "warning: $name has $(stat -c 'mode %a, owner %u:%g' "$dest"), not 0640 root:chiso ($gid): it may hold secrets"
    elif $dry_run; then
        say "would install $name (root:chiso 0640)"
    else
        install -m 0640 -o 0 -g "$gid" "$conf" "$dest"
        say "installed $name (an example: edit it)"
    fi
done

# The programs the units run.
for program in "${programs[@]}"; do
    path=$prefix/bin/${program##*/}
    [ -x "$(under_root "$path")" ] ||
        say "warning: $path is not installed yet: cmake --install BUILD --prefix $prefix"
done

if $changed_units && [ "$root" = / ] && [ -d /run/systemd/system ]; then
    if $dry_run; then
        say "would run systemctl daemon-reload"
    else
        systemctl daemon-reload
        say "reloaded systemd"
    fi
fi
$dry_run || say "done; next: edit /etc/chiso/*.conf, then enable the stages (deploy/systemd/README.md, \"Start\")"
