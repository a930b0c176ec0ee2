#!/bin/bash
# Makes ../sealed-example.json and the swtpm state it is sealed in (state/)
# with swtpm and tpm2-tools alone, following README.md "The sealed file":
# slkit plays no part, so that slkit's test of this file checks slkit
# against an independent producer. The secret is "example", the PIN "pin",
# sealed to sha256 PCR 9 after one extend of SHA-256("kernel") (event 1,
# EV_IPL "kernel"), under the template SRK (srk.persistent false).
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work" "$here/state/.lock"; }
trap cleanup EXIT

rm -rf state && mkdir state
port=$((20000 + RANDOM % 20000))
swtpm socket --tpm2 --tpmstate dir="$PWD/state" \
	--server type=tcp,port=$port,bindaddr=127.0.0.1 --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
	--flags not-need-init,startup-clear &
pid=$!
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
for _ in $(seq 50); do tpm2_getrandom 1 >/dev/null 2>&1 && break; sleep 0.1; done
cd "$work"
t() { "$@" >/dev/null; tpm2_flushcontext -t; } # swtpm's TCTI has no resource manager

kernel=$(printf kernel | sha256sum | cut -c1-64)
t tpm2_pcrextend "9:sha256=$kernel"
t tpm2_pcrread sha256:9 -o pcr9.bin

# The SRK template of README.md.
head -c 64 /dev/zero | t tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb \
	-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' -c srk.ctx -u -
t tpm2_readpublic -c srk.ctx -n srk.name -o srk.pub

# The policy digest: PolicyPCR(sha256:9), then PolicyAuthValue.
t tpm2_startauthsession -S trial.ctx
t tpm2_policypcr -S trial.ctx -l sha256:9 -f pcr9.bin
t tpm2_policyauthvalue -S trial.ctx -L policy.digest
tpm2_flushcontext trial.ctx

printf example >secret
t tpm2_create -C srk.ctx -g sha256 -a 'fixedtpm|fixedparent|adminwithpolicy' -L policy.digest \
	-p pin -i secret -u obj.pub -r obj.priv

hexf() { xxd -p "$1" | tr -d '\n'; }
jq -n --arg srkname "$(hexf srk.name)" \
	--arg srkpub "$(tail -c +3 srk.pub | base64 -w0)" \
	--arg pub "$(base64 -w0 obj.pub)" --arg priv "$(base64 -w0 obj.priv)" \
	--arg digest "$(hexf policy.digest)" --arg pcr9 "$(hexf pcr9.bin)" --arg kernel "$kernel" \
	'{version: 1, kind: "slkit-sealed",
	  srk: {persistent: false, name: $srkname, public: $srkpub},
	  public: $pub, private: $priv,
	  policy: {bank: "sha256", pcrs: [9], pin: true, locality: 0, digest: $digest},
	  expected: {banks: {sha256: {"9": $pcr9}},
	    events: [{index: 1, offset: 0, pcr: 9, type: "EV_IPL", type_code: 13,
	      digests: {sha256: $kernel}, data: "6b65726e656c", description: "kernel"}]}}' \
	>"$here/../sealed-example.json"
