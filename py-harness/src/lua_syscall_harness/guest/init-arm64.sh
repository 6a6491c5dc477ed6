#!/bin/busybox sh
# PID 1 of the arm64 test guest, /init of its initramfs (see arm64.py): Debian's
# busybox-static:arm64 and the cross-built kselftests in /ksft; no host root, so no Python.
# The run directory (command, output, exit status) is the 9p tag "lsout", as on x86.
# Leaves by sysrq reboot, which QEMU (-no-reboot) turns into its own exit.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /root
/bin/busybox mount -t proc proc /proc
# Applets into /bin only: the kselftest runner would use /usr/bin/timeout --foreground,
# which busybox's timeout does not have, if it found one.
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root TERM=dumb
mount -t sysfs sysfs /sys
grep -q " /dev devtmpfs " /proc/mounts || mount -t devtmpfs devtmpfs /dev
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm /run/lsout
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ip link set lo up 2>/dev/null
hostname lua-syscall-guest 2>/dev/null

if mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 lsout /run/lsout; then
	echo "lua-syscall-guest: running command" >/dev/console
	cd "$(cat /run/lsout/cwd)" || cd /
	/bin/sh /run/lsout/command.sh >>/run/lsout/output 2>&1 </dev/null
	echo $? >/run/lsout/rc
	sync
	echo "lua-syscall-guest: command exited" >/dev/console
else
	echo "lua-syscall-guest: cannot mount the run directory" >/dev/console
fi
echo b >/proc/sysrq-trigger
sleep 10
