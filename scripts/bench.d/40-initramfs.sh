# Building the pre-launch image: slkit's full build (mkuimage + canonical
# rewrite, reproducible) vs mkuimage alone with the same command set, and
# the minimal image, same run.
echo "== initramfs build: slkit full vs mkuimage alone (same u-root commands), and minimal"
go test -run '^$' -bench 'InitramfsBuild' -benchtime 1x -count 1 ./initramfs/ | tee "$OUT/initramfs.txt"
ratio "$OUT/initramfs.txt" 'kind=full' 'kind=mkuimage' s/build "full image build time (lower is better)"
ratio "$OUT/initramfs.txt" 'kind=full' 'kind=mkuimage' bytes "full image size (lower is better)"
ratio "$OUT/initramfs.txt" 'kind=minimal-cold' 'kind=mkuimage' s/build "minimal image, cold cache, vs mkuimage (lower is better)"
