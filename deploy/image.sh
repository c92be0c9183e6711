#!/usr/bin/env bash
# Assembles the DDnsBroker container image from the static binary of
# `make build`, with buildah and without any registry: no base image is
# pulled, the image starts from scratch. `make image` runs it:
#
#   deploy/image.sh BINARY IMAGE VERSION
#
# The image holds:
#   /usr/local/bin/ddnsbroker             the binary (static: CGO off)
#   /etc/ssl/certs/ca-certificates.crt    this machine's CA bundle (the broker
#                                         calls DNS providers over HTTPS)
#   /etc/passwd, /etc/group               the non-root user ddnsbroker, 65532
#                                         (the UID distroless calls nonroot, so
#                                         volumes fit either image)
#   /tmp                                  writable, sticky
# No time zone data: the broker works in UTC and loads no zone.
# Docker format, not OCI: only that one carries HEALTHCHECK.
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 BINARY IMAGE VERSION" >&2; exit 2; }
bin=$1 image=$2 version=$3
source_url=https://github.com/ddnsbroker/ddnsbroker
uid=65532
ca=/etc/ssl/certs/ca-certificates.crt

command -v buildah >/dev/null || { echo "image: buildah not found: apt-get install buildah podman (make test-deps installs them)" >&2; exit 1; }
[ -s "$ca" ] || { echo "image: $ca missing: apt-get install ca-certificates" >&2; exit 1; }
[ -x "$bin" ] || { echo "image: $bin missing: make build" >&2; exit 1; }
# A dynamically linked binary would not start in an image without libc.
if LC_ALL=C readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
	echo "image: $bin is dynamically linked; build it with CGO_ENABLED=0 (make build does)" >&2; exit 1
fi

export BUILDAH_FORMAT=docker
rootfs=$(mktemp -d)
ctr=""
cleanup() {
	rm -rf "$rootfs"
	[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null
}
trap cleanup EXIT

chmod 0755 "$rootfs"
install -d -m 0755 "$rootfs/etc/ssl/certs" "$rootfs/usr/local/bin"
install -d -m 1777 "$rootfs/tmp"
install -m 0755 "$bin" "$rootfs/usr/local/bin/ddnsbroker"
install -m 0644 "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nddnsbroker:x:%d:%d:DDnsBroker:/nonexistent:/sbin/nologin\n' $uid $uid > "$rootfs/etc/passwd"
printf 'root:x:0:\nddnsbroker:x:%d:\n' $uid > "$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"

ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$rootfs" / >/dev/null
buildah config \
	--user "$uid:$uid" \
	--workingdir / \
	--env DDNSBROKER_LISTEN=0.0.0.0:8080 \
	--port 8080/tcp \
	--entrypoint '["/usr/local/bin/ddnsbroker"]' \
	--cmd serve \
	--healthcheck 'CMD /usr/local/bin/ddnsbroker healthcheck' \
	--healthcheck-interval 30s --healthcheck-timeout 5s --healthcheck-start-period 30s --healthcheck-retries 3 \
	--label org.opencontainers.image.title=ddnsbroker \
	--label org.opencontainers.image.description="DDnsBroker dynamic DNS broker" \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.source="$source_url" \
	"$ctr"

# The image this name pointed to before is removed once nothing uses it, so
# repeated builds do not pile up unnamed images.
old=$(buildah images --quiet --no-trunc "$image" 2>/dev/null || true)
buildah commit --quiet --format docker --rm "$ctr" "$image" >/dev/null
ctr=""
new=$(buildah images --quiet --no-trunc "$image")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
	buildah rmi "$old" >/dev/null 2>&1 || true
fi
echo "image: $image ($version, ${new#sha256:})"
