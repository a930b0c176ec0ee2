# The emulated dynamic launch: staging with the digests the measured launch
# already computed (what slkit launch --drtm does) vs hashing the kernel
# again, same run; and one emulated launch on swtpm.
echo "== DRTM staging: digests from the measurement vs the kernel hashed again (same run)"
go test -run '^$' -bench 'StageEmulatedDigests|LaunchEmulatedSwtpm' -benchtime 10x -count 3 ./slaunch/ | tee "$OUT/drtm.txt"
ratio "$OUT/drtm.txt" 'digests=from-measure' 'digests=rehash' ns/op "stage the emulated DRTM of the Debian kernel (lower is better)"
