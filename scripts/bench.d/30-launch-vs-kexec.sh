# The pre-launch hand-over on the rig: slkit launch (verify policy, measure
# into every bank, log, kexec) vs a plain u-root kexec of the same kernel,
# initrd and command line, same run. Each sample is a VM boot under TCG.
echo "== launch hand-over on the rig: slkit launch vs plain u-root kexec (same kernel+initrd, same run)"
go test -run '^$' -bench 'LaunchVsKexec' -benchtime 1x -count 3 ./rig/e2e/ | tee "$OUT/launch.txt"
ratio "$OUT/launch.txt" 'impl=slkit' 'impl=u-root-kexec' s/launch "pre-launch run -> target init, s (lower is better)"
