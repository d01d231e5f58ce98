// Command oci-registry serves an OCI registry on a loopback address for the
// end-to-end tests, with the OCI 1.1 referrers API switched on. It is a thin
// wrapper around go-containerregistry's pkg/registry: `crane registry serve`
// uses the same package but leaves referrers support off, and Debian's
// docker-registry (distribution 2.8) has no referrers API, so without this the
// tests could only exercise the `sha256-<hex>` tag fallback.
//
// It prints "listening on HOST:PORT" on stdout once it accepts connections, so
// a harness can pass --address 127.0.0.1:0 and read the port back.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

const ggcr = "github.com/google/go-containerregistry"

func libraryVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == ggcr {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func main() {
	address := flag.String("address", "127.0.0.1:0", "host:port to listen on (port 0 picks a free port)")
	referrers := flag.Bool("referrers", true, "serve the OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>)")
	disk := flag.String("disk", "", "directory for blobs (default: in memory); manifests are always in memory")
	quiet := flag.Bool("quiet", false, "do not log requests")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()

	if *version {
		fmt.Printf("oci-registry (%s %s)\n", ggcr, libraryVersion())
		return
	}

	opts := []registry.Option{registry.WithReferrersSupport(*referrers)}
	if *quiet {
		opts = append(opts, registry.Logger(log.New(io.Discard, "", 0)))
	}
	if *disk != "" {
		if err := os.MkdirAll(*disk, 0o755); err != nil {
			log.Fatalf("oci-registry: %v", err)
		}
		opts = append(opts, registry.WithBlobHandler(registry.NewDiskBlobHandler(*disk)))
	}

	ln, err := net.Listen("tcp", *address)
	if err != nil {
		log.Fatalf("oci-registry: %v", err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	srv := &http.Server{Handler: registry.New(opts...), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
