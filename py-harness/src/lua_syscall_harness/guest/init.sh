#!/bin/sh
# PID 1 of the lua_syscall test guest. The root is the host's /, read only over 9p; the run
# directory (command, output, exit status) is the 9p tag "lsout". Leaves by sysrq reboot,
# which QEMU (-no-reboot) turns into its own exit.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp PYTHONDONTWRITEBYTECODE=1 TERM=dumb LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# devtmpfs lacks the links udev would make; scripts write to /dev/stdout.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm /dev/lsout
mount -t devpts devpts /dev/pts
lsout=
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 lsout /dev/lsout && lsout=1

# A repository or build directory under /tmp (or another directory covered by a tmpfs
# below) would vanish: hold each path in "keep" aside and put it back on the tmpfs.
keep() {
	[ -n "$lsout" ] && [ -f /dev/lsout/keep ] || return 0
	i=0
	while IFS= read -r path; do
		i=$((i + 1))
		if [ "$1" = hold ]; then
			mkdir -p "/dev/keep/$i" && mount --bind "$path" "/dev/keep/$i"
		else
			mkdir -p "$path" && mount --move "/dev/keep/$i" "$path"
		fi
	done </dev/lsout/keep
}
keep hold
mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t tmpfs vartmp /var/tmp
keep restore
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ip link set lo up 2>/dev/null
hostname lua-syscall-guest 2>/dev/null

mkdir /run/lsout
if [ -n "$lsout" ] && mount --move /dev/lsout /run/lsout; then
	echo "lua-syscall-guest: running command" >/dev/console
	cd "$(cat /run/lsout/cwd)" || cd /
	# Append mode: tools that reopen /dev/stdout (the kselftest runner) must not
	# overwrite what the shell wrote before them.
	/bin/sh /run/lsout/command.sh >>/run/lsout/output 2>&1 </dev/null
	echo $? >/run/lsout/rc
	sync
	echo "lua-syscall-guest: command exited" >/dev/console
else
	echo "lua-syscall-guest: cannot mount the run directory" >/dev/console
fi
echo b >/proc/sysrq-trigger
sleep 10
