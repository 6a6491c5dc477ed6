#!/bin/sh
# Profile memcached's CPU (vCPU 0) under saturating load, one UDP path per run, with perf's
# cpu-clock sampling (TCG has no PMU). Run in the bench kernel:
#   ./lua-syscall vm --variant bench --timeout 600 -- py-harness/loadgen/profile_guest.sh lua mmsg
# Prints the top kernel and user symbols of each path.
set -e
build=/work/main/build
py=/work/main/.venv/bin/python
port=21500
for mode in "$@"; do
	port=$((port + 1))
	taskset -c 0 "$build/memcached/src/memcached" -u root -t 1 -l 127.0.0.1 -p $port -U $port \
		-o "udp_io=$mode,udp_batch=16,udp_lua_script=/work/main/py-harness/memcached/udp_batch.lua" &
	mc=$!
	sleep 2
	$py - "$port" <<'PYEOF'
import sys
from pathlib import Path

from lua_syscall_harness import memcache_udp
from lua_syscall_harness.memcached_server import VARIANTS, Server, key

port = int(sys.argv[1])
server = Server(VARIANTS["stock"], port)  # only for load(); it is already running
server.load((64,), 1000)
memcache_udp.write_corpus(Path("/tmp/profile-corpus.bin"),
                          memcache_udp.get_corpus([key(64, i) for i in range(1000)]))
PYEOF
	taskset -c 1 "$build/loadgen/mc_loadgen" -p $port -c /tmp/profile-corpus.bin -d 6 -w 0 >/dev/null &
	gen=$!
	sleep 1
	perf record -q -C 0 -e cpu-clock -F 1999 -o /tmp/perf-$mode.data -- sleep 4 2>/dev/null
	wait $gen
	kill $mc
	echo "== $mode: top symbols on memcached's vCPU =="
	perf report -q -i /tmp/perf-$mode.data --stdio --no-children --sort dso,sym 2>/dev/null |
		grep -v '^$' | head -40
done
