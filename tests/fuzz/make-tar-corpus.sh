#!/bin/bash
# tests/fuzz/make-tar-corpus.sh: (re)generate the seed tars of fuzz_unpack and fuzz_archive in
# tests/fuzz/corpus/{unpack,archive}/ with GNU tar (record size 512, fixed owner and mtime, so
# the files are small and the same on every run). Hostile seeds (traversal, absolute names,
# symlinks out of the root) are there so that the fuzzer starts next to the interesting checks.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mk() { # OUT TAR-ARGS...: tar -C $work/src with deterministic metadata
	local out=$1
	shift
	tar -C "$work/src" -b 1 --format=gnu --owner=0 --group=0 --numeric-owner \
		--mtime=2024-01-01 --sort=name -cf "$out" "$@"
}

mkdir -p "$work/src/dir/sub" "$here/corpus/unpack" "$here/corpus/archive"
echo hello >"$work/src/dir/file"
echo data >"$work/src/dir/sub/data"
ln -s file "$work/src/dir/link"
ln -s /etc/passwd "$work/src/dir/abs-link"
ln -s ../../.. "$work/src/dir/up-link"
ln "$work/src/dir/file" "$work/src/dir/hard"
touch "$work/src/dir/.wh.gone" "$work/src/dir/sub/.wh..wh..opq"
chmod 0555 "$work/src/dir/sub"
longname=$(printf 'n%.0s' $(seq 200))
mkdir -p "$work/src/long"
echo x >"$work/src/long/$longname"

for target in unpack archive; do
	c=$here/corpus/$target
	mk "$c/file.tar" dir/file
	mk "$c/tree.tar" dir/file dir/sub/data dir/link dir/hard
	mk "$c/symlinks.tar" dir/link dir/abs-link dir/up-link
	mk "$c/longname.tar" long
	mk "$c/dotdot.tar" -P --transform 's,^dir/file$,../escaped,' dir/file
	mk "$c/absolute.tar" -P --transform 's,^dir/file$,/tmp/escaped,' dir/file
	mk "$c/through-symlink.tar" --transform 's,^dir/sub/data$,dir/up-link/escaped,' dir/up-link dir/sub/data
	mk "$c/tree.tar.gz" -z dir/file dir/sub/data dir/link
done
mk "$here/corpus/unpack/whiteouts.tar" dir/file dir/.wh.gone dir/sub/.wh..wh..opq dir/sub/data
chmod -R u+w "$work/src"
