#!/usr/bin/env bash
# Builds what the microvm sandbox driver boots, from Debian packages only, into one directory (default
# .portcullis/microvm-guest; see docs/sandboxes.md#microvm):
#
#   vmlinux        the kernel of linux-image-cloud-amd64, uncompressed for a direct (PVH) boot
#   initrd.cpio    busybox, the guest's /init and the virtio, squashfs and overlay modules it loads
#   python.sqfs    the host's Python 3.11 with its standard library and shared libraries, mounted read-only as /usr
#   guest.json     what was built from which package versions, and the digest of each file
#
# The same packages give the same bytes: file lists are sorted, the initramfs has fixed times and owners, and the
# squashfs image keeps the packages' own file times (so the bytecode caches stay valid) with a fixed build time.
# Installs the Debian packages it needs when they are missing (qemu-system-x86 to run guests, busybox-static,
# squashfs-tools, cpio, lz4); the kernel package is downloaded and unpacked here, not installed on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.portcullis/microvm-guest}
python=/usr/bin/python3.11

. scripts/lib/debian-packages.sh
ensure_debian_packages --no-recommends qemu-system-x86 busybox-static squashfs-tools cpio lz4 python3.11

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel: the package linux-image-cloud-amd64 currently depends on, unpacked.
kernel_package=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$kernel_package" ] || { echo "no linux-image-cloud-amd64 in the package lists (apt-get update?)" >&2; exit 1; }
(cd "$work" && apt-get download -q "$kernel_package" >/dev/null 2>&1 || apt-get download "$kernel_package")
dpkg-deb -x "$work"/"$kernel_package"_*.deb "$work/kernel"
release=${kernel_package#linux-image-}
modules=$work/kernel/lib/modules/$release/kernel
# The bzImage's payload is LZ4: cut it out and decompress it for a PVH boot (no decompression in the guest).
"$python" - "$work/kernel/boot/vmlinuz-$release" "$work/vmlinux.lz4" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\x02\x21\x4c\x18")
if start < 0:
    sys.exit("the kernel image holds no LZ4 payload")
open(sys.argv[2], "wb").write(data[start:])
EOF
# lz4 reports the bytes after the payload as an error; the kernel before them is complete.
lz4 -dcf "$work/vmlinux.lz4" > "$work/vmlinux" 2>/dev/null || true
head -c 4 "$work/vmlinux" | grep -q $'\x7fELF' || { echo "the kernel did not decompress to an ELF image" >&2; exit 1; }

# The initramfs: busybox, /init, and the modules in load order.
root=$work/initrd
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,app,home,run,mnt,usr,opt/agent-deps,lib/modules}
ln -s usr/lib64 "$root/lib64"
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount umount insmod ip hostname cat mkdir ln poweroff setpriv su sleep nc chmod chown mknod echo; do
  ln -s busybox "$root/bin/$applet"
done
module_order=(drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio net/core/failover drivers/net/net_failover
  drivers/net/virtio_net drivers/block/virtio_blk drivers/char/hw_random/virtio-rng fs/squashfs/squashfs fs/overlayfs/overlay)
for module in "${module_order[@]}"; do
  cp "$modules/$module.ko" "$root/lib/modules/$(basename "$module").ko"
done
printf '%s\n' "${module_order[@]##*/}" > "$root/lib/modules/order"
cp scripts/microvm-guest-init "$root/init"
chmod 0755 "$root/init"
mkdir -p "$root/lib/portcullis"
cp scripts/microvm-guest-reseed "$root/lib/portcullis/reseed.py"
printf '127.0.0.1 localhost\n' > "$root/etc/hosts"
printf 'hosts: files\n' > "$root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nagent:x:1000:\n' > "$root/etc/group"
# Fixed times and owners, sorted entries: the same inputs give the same archive.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible --owner=0:0 --quiet) > "$work/initrd.cpio"

# /usr of the guest: the interpreter, its standard library (no tests, no GUI), its libraries and the CA bundle.
usr=$work/usr
mkdir -p "$usr/bin" "$usr/lib/x86_64-linux-gnu" "$usr/lib64" "$usr/share/portcullis"
cp -p "$python" "$usr/bin/python3.11"
ln -s python3.11 "$usr/bin/python3"
(cd /usr/lib && find python3.11 -path 'python3.11/test' -prune -o -path 'python3.11/idlelib' -prune -o -path 'python3.11/tkinter' -prune \
  -o -path 'python3.11/turtledemo' -prune -o -path 'python3.11/ensurepip' -prune -o -path 'python3.11/lib2to3/tests' -prune \
  -o -name 'site-packages' -prune -o -name 'dist-packages' -prune -o -print | LC_ALL=C sort | cpio -pdm --quiet "$usr/lib")
# The interpreter's and its extension modules' libraries, and the base system libraries the manylinux wheels of
# agents' dependency layers may link against (PEP 600's policy list, less X11, OpenGL and GLib).
base_libraries=()
for name in libgcc_s.so.1 libstdc++.so.6 libm.so.6 libdl.so.2 librt.so.1 libc.so.6 libnsl.so.1 libutil.so.1 libpthread.so.0 libresolv.so.2 \
  libcrypt.so.1 libz.so.1; do
  [ -e "/usr/lib/x86_64-linux-gnu/$name" ] && base_libraries+=("/usr/lib/x86_64-linux-gnu/$name")
done
for library in $( (ldd "$python"; find /usr/lib/python3.11/lib-dynload -name '*.so' -exec ldd {} \;
  for base in "${base_libraries[@]}"; do echo "${base##*/} => $base (base)"; ldd "$base"; done) 2>/dev/null | awk '/=> \// {print $3}' | LC_ALL=C sort -u); do
  cp -pL "$library" "$usr/lib/x86_64-linux-gnu/"
done
cp -pL /lib64/ld-linux-x86-64.so.2 "$usr/lib64/ld-linux-x86-64.so.2"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp -pL /etc/ssl/certs/ca-certificates.crt "$usr/share/portcullis/ca-certificates.crt"
# Every interpreter in a restored VM reseeds its own generators when told (scripts/microvm-guest-python-restore).
restore=$usr/local/lib/python3.11/dist-packages
mkdir -p "$restore"
cp scripts/microvm-guest-python-restore "$restore/portcullis_restore.py"
echo "import portcullis_restore" > "$restore/portcullis_restore.pth"
touch -d @0 "$restore/portcullis_restore.py" "$restore/portcullis_restore.pth"
# Directories and links made here get a fixed time; the files keep the packages' (the bytecode caches check them).
find "$usr" \( -type d -o -type l \) -exec touch -h -d @0 {} +
mksquashfs "$usr" "$work/python.sqfs" -noappend -all-root -no-xattrs -mkfs-time 0 -comp lz4 -quiet -no-progress >/dev/null

mkdir -p "$out"
for file in vmlinux initrd.cpio python.sqfs; do
  install -m 0644 "$work/$file" "$out/$file.new" && mv -f "$out/$file.new" "$out/$file"
done
digests=$(cd "$out" && sha256sum vmlinux initrd.cpio python.sqfs | awk '{printf "%s\"%s\": \"%s\"", (NR>1?", ":""), $2, $1}')
cat > "$out/guest.json" <<EOF
{"kernel": "$kernel_package $(dpkg-deb -f "$work"/"$kernel_package"_*.deb Version)", "python": "$($python -c 'import platform; print(platform.python_version())')", "busybox": "$(dpkg-query -W -f '${Version}' busybox-static)", "sha256": {$digests}}
EOF
echo "microVM guest in $out: $(du -sh "$out" | cut -f1) ($kernel_package)"
