# Measuring 256 MiB of kernel+initrd into every active bank vs openssl dgst
# over the same files, same run.
echo "== measurement of 256 MiB into all banks vs openssl dgst (same files, same run)"
go test -run '^$' -bench 'Hash256MiB|OpenSSL|RatioVsOpenSSL|Measure256MiB' -benchtime 3x -count 1 ./launch/ | tee "$OUT/measure.txt"
ratio "$OUT/measure.txt" '^BenchmarkHash256MiB' '^BenchmarkOpenSSL/sha384' ns/op "hash 256 MiB, all 4 banks vs openssl -sha384 (target <= 1.2x)"
awk '/^BenchmarkOpenSSL\// { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") s += $i }
     /^BenchmarkHash256MiB/ { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") o = $i }
     END { if (s && o) printf "%-58s  slkit %10.2f ms   baseline %10.2f ms   ratio %.2fx\n", "hash 256 MiB, all 4 banks vs openssl doing all 4 banks", o/1e6, s/1e6, o/s }' "$OUT/measure.txt"
grep -h 'Measure256MiB' "$OUT/measure.txt" | grep -o '[0-9.]* tpm-cmds/op\|[0-9.]* extends/event' | paste -sd' ' | sed 's/^/measure: /'
