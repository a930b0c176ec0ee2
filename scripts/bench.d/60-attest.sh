# attest verify of one evidence bundle with the firmware, pre-launch and
# DRTM logs (4 banks, PCRs 0-23): slkit's whole verification (EK chain, AK
# proof and activation, quotes, every log, the DRTM check, the policy
# entries predicted from their images) vs go-attestation's quote and log
# checks alone, same bundle, same run.
echo "== attest verify: one bundle, slkit's full verification vs go-attestation's quote + log checks"
go test -run '^$' -bench 'AttestVerify' -benchtime "$BENCHTIME" -count 3 ./attest/verifier/ | tee "$OUT/attest.txt"
ratio "$OUT/attest.txt" 'impl=slkit' 'impl=go-attestation' ns/op "attest verify of one bundle (lower is better)"
