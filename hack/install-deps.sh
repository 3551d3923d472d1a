#!/usr/bin/env bash
# install-deps.sh installs the host packages Meseta's tests need. It is idempotent:
# it does nothing when everything is already there.
#
#   - a statically linked busybox at /bin/busybox, from which hack/testimage builds
#     the busybox OCI image layout that the runtime and agent tests run.
set -euo pipefail

is_static() {
	# A static ELF has no program interpreter (PT_INTERP); `file` says so too, but
	# may be missing, so look for the interpreter path in the binary itself.
	[ -x "$1" ] || return 1
	if command -v file >/dev/null 2>&1; then
		file -L "$1" | grep -q 'statically linked' && return 0
		file -L "$1" | grep -q 'static-pie linked' && return 0
		return 1
	fi
	! grep -q -a 'ld-linux' "$1"
}

if ! is_static /bin/busybox; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: /bin/busybox is missing or not static and this is not root;" >&2
		echo "install-deps: run 'apt-get install -y busybox-static' as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y busybox-static
fi

if ! is_static /bin/busybox; then
	echo "install-deps: /bin/busybox is still not a static binary" >&2
	exit 1
fi
echo "install-deps: static busybox at /bin/busybox"
