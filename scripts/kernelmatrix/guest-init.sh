#!/bin/sh
# Runs inside a guest booted by guest.py: makes stdc fast and its storage real there, then runs the
# command in $1/command and leaves its exit status in $1/status. $1 is the host directory shared
# read-write with the guest; everything else the guest writes stays in the guest.
set -u
x=$1
checkout=$2
exec >"$x/output.log" 2>&1 </dev/null
# Debian's kernel has virtio_blk as a module and no udev here to load it; the kernel loads the rest
# (ext4, overlay, veth, bridge, nf_tables) itself on first use. The aufs kernel has them built in.
modprobe -q virtio_blk 2>/dev/null
# The host's files come over 9p with no caching: every stat of a Python import is a round trip,
# about 20 s per cold `stdc` command under TCG. guest.py made a fresh ext4 disk holding a copy of
# the checkout (with its .venv), the standard library and the shared libraries Python maps; they
# are bound over the same paths. The rest of that disk is scratch space with user xattrs and a
# working SQLite WAL: stdc's root, and /var/tmp, where the tests keep their private roots.
mkdir -p /run/stdc-vm
mount -t ext4 /dev/vda /run/stdc-vm || { echo "guest: no disk"; echo 125 >"$x/status"; exit; }
cat /run/stdc-vm/bind-dirs /run/stdc-vm/bind-files | while read -r p; do
  mount --bind "/run/stdc-vm/tree$p" "$p"
done
mkdir -p /run/stdc-vm/scratch
mount --bind /run/stdc-vm/scratch /var/tmp
mkdir -p /var/tmp/stdc-root /var/lib/stdc /run/stdc
mount --bind /var/tmp/stdc-root /var/lib/stdc
# TMPDIR: pytest's tmp_path and the kits' scratch directories on ext4 too (the guest's /tmp is tmpfs,
# which has user xattrs only from 6.6)
export STDC_ROOT=/var/lib/stdc STDC_RUNTIME_DIR=/run/stdc PATH="$checkout/.venv/bin:$PATH" HOME=/root TMPDIR=/var/tmp
# each stdc command is many times slower under TCG: the suites wait that much longer (never measure it)
export STDC_TEST_SLOWDOWN=${STDC_TEST_SLOWDOWN:-5}
# the disk is the guest's own: compiled bytecode may be written there, and is reused within the boot
unset PYTHONDONTWRITEBYTECODE
cd "$checkout" || exit 125
echo "guest: $(uname -r), $(stat -fc %T /sys/fs/cgroup), ready in $(cut -d' ' -f1 /proc/uptime) s"
sh "$x/command"
echo $? >"$x/status"
