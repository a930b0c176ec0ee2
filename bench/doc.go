// Package bench holds benchmarks that compare slkit with other
// implementations measured in the same run (go-attestation's event-log
// parser). It is a separate module so that comparison libraries stay out of
// slkit's dependencies (go-attestation has since become one, for the
// verifier side of package attest/verifier, which the image build does not
// link).
package bench
