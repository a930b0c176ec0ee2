# TPM commands per operation and time per operation: slkit vs tpm2-tools on
# the same swtpm (commands counted by a proxy on swtpm's data channel).
echo "== TPM commands per operation (slkit vs tpm2-tools, same swtpm)"
(cd bench && go test -run '^$' -bench 'TPMCommandsPerOperation' -benchtime 10x -count 1) | tee "$OUT/tpmcmds.txt"
ratio "$OUT/tpmcmds.txt" 'op=extend/impl=slkit' 'op=extend/impl=tpm2-tools' tpm-cmds/op "TPM commands per PCR extend, all banks (lower is better)"
ratio "$OUT/tpmcmds.txt" 'op=unseal/impl=slkit' 'op=unseal/impl=tpm2-tools' tpm-cmds/op "TPM commands per unseal, persistent SRK (lower is better)"
ratio "$OUT/tpmcmds.txt" 'op=unseal/impl=slkit' 'op=unseal/impl=tpm2-tools' ns/op "time per unseal (lower is better)"
