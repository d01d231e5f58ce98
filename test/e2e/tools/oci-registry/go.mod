// Build-only module for the e2e tests' referrers-capable OCI registry (see
// main.go). Keep the go-containerregistry version in step with CRANE_VERSION in
// ../versions.env.
module bulwark.local/e2e-tools/oci-registry

go 1.26.0

require github.com/google/go-containerregistry v0.22.1
