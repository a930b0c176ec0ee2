module github.com/slkit/slkit/bench

go 1.26.0

replace github.com/slkit/slkit => ../

require (
	github.com/google/go-attestation v0.6.4
	github.com/slkit/slkit v0.0.0-00010101000000-000000000000
)

require (
	github.com/google/go-tpm v0.9.8 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
