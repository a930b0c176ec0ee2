#!/usr/bin/env bash
# deps.sh — install what slkit's tests, demo and benchmarks need, idempotently.
#
# Installs only missing Debian packages, then fetches the current Debian cloud
# kernel (linux-image-cloud-amd64 -> the linux-image-*-cloud-amd64 it depends on)
# with `apt-get download` + `dpkg-deb -x` into $SLKIT_CACHE/kernel (default
# .cache/kernel in the repository). Nothing is installed into /boot.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${SLKIT_CACHE:-$top/.cache}
pkgs=(gcc libssl-dev swtpm swtpm-tools tpm2-tools qemu-system-x86 ovmf openssl cpio kmod e2fsprogs grub-common
      systemd-boot-efi sbsigntool osslsigncode mtools)

sudo_if() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	sudo_if apt-get update -qq
	sudo_if env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "deps: packages present"
fi

# The Debian cloud kernel, extracted (not installed) with its modules.
kdir=$cache/kernel
if [ -f "$kdir/vmlinuz" ] && [ -d "$kdir/modules" ]; then
	echo "deps: kernel present: $(cat "$kdir/version")"
else
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/kernel.tmp.XXXXXX")
	chmod 0777 "$work"  # apt-get download runs as _apt
	trap 'rm -rf "$work"' EXIT
	( cd "$work"
	  if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then sudo_if apt-get update -qq; fi
	  meta=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	  [ -n "$meta" ] || { echo "deps: cannot resolve linux-image-cloud-amd64 to a kernel package" >&2; exit 1; }
	  apt-get download -qq "$meta" >/dev/null
	  dpkg-deb -x ./"$meta"_*.deb root
	  ver=${meta#linux-image-}
	  mkdir -p out
	  cp root/boot/vmlinuz-"$ver" out/vmlinuz
	  cp root/boot/config-"$ver" out/config
	  mv root/lib/modules/"$ver" out/modules
	  echo "$ver" > out/version
	  ls ./"$meta"_*.deb > out/package )
	rm -rf "$kdir"
	mv "$work/out" "$kdir"
	echo "deps: kernel $(cat "$kdir/version") in $kdir"
fi

# Public event logs from real machines and cloud VMs, for the event-log tests
# and benchmarks: the test data of github.com/google/go-eventlog (Apache-2.0),
# fetched through the Go module proxy (the module's zip carries its testdata).
elog=$cache/eventlogs/public
if [ -f "$elog/.complete" ]; then
	echo "deps: public event logs present"
else
	dir=$(cd "$(mktemp -d)" && go mod download -json github.com/google/go-eventlog@v0.0.2 | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
	[ -d "$dir/testdata" ] || { echo "deps: cannot fetch github.com/google/go-eventlog@v0.0.2 test data" >&2; exit 1; }
	rm -rf "$elog.tmp" && mkdir -p "$elog.tmp"
	cp "$dir"/testdata/eventlogs/tpm/*.bin "$elog.tmp"/
	cp "$dir"/testdata/legacydata/linux_tpm12.json "$dir"/testdata/legacydata/windows_gcp_shielded_vm.json "$elog.tmp"/
	chmod -R u+w "$elog.tmp"
	echo "github.com/google/go-eventlog@v0.0.2 testdata (Apache-2.0)" > "$elog.tmp/SOURCE"
	touch "$elog.tmp/.complete"
	rm -rf "$elog" && mv "$elog.tmp" "$elog"
	echo "deps: public event logs in $elog"
fi
