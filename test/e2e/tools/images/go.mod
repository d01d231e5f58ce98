// Build-only module for the test node's images: pause (the pod sandbox), hello (a
// plain workload) and oci-image, which packs them into image tarballs without a
// registry or Docker. Keep the go-containerregistry version in step with
// CRANE_VERSION in ../versions.env.
module bulwark.local/e2e-tools/images

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)
