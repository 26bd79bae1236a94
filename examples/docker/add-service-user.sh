#!/bin/sh
# Build-time only (never an entrypoint): add-service-user.sh UID GID NAME [ROOT]
# UID 0 is root mode: nothing is created and the master stays root.
# Otherwise create group GID and user UID named NAME (in ROOT, default /)
# and tell the master, through its config file, to drop to them once its
# root-only preparation is done.
set -eu
uid=$1 gid=$2 name=$3 root=${4:-/}
conf="$root/etc/sentrik-master/container.conf"

case "$uid$gid" in *[!0-9]*) echo "userid and groupid must be numbers" >&2; exit 1 ;; esac
if [ "$uid" -eq 0 ]; then
	echo "root mode: no service user, the master and workers run as root"
	exit 0
fi
# A group with that gid may exist already (e.g. "users" = 100): reuse it.
grep -q "^[^:]*:[^:]*:$gid:" "$root/etc/group" ||
	groupadd --prefix "$root" --gid "$gid" "$name"
useradd --prefix "$root" --uid "$uid" --gid "$gid" --no-create-home --home-dir /app \
	--shell /usr/sbin/nologin "$name"
printf 'user = %s\ngroup = %s\n' "$uid" "$gid" >>"$conf"
echo "custom user mode: the master drops to $name ($uid:$gid)"
