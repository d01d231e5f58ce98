// oci-image packs static binaries into a one-layer image and writes it as an image
// tarball (the `docker save` layout with an OCI-compatible config), which both
// `ctr images import` and `docker load` read. No registry and no Docker are needed,
// so the test node gets its pause and workload images on a machine that reaches no
// image registry.
//
//	oci-image --name REF --file SRC:DEST [--file ...] --entrypoint /DEST [--user UID:GID] --output FILE
//
// The result is reproducible: fixed timestamps, root-owned files, sorted entries.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Reported by --version; build.sh keys its cache on a hash of the sources anyway.
const version = "oci-image 1"

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var files fileList
	ref := flag.String("name", "", "image reference to record, e.g. localhost/bulwark-e2e/pause:1")
	entrypoint := flag.String("entrypoint", "", "absolute path of the program to run")
	user := flag.String("user", "65535:65535", "UID:GID the container runs as")
	output := flag.String("output", "", "where to write the image tarball")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Var(&files, "file", "SRC:DEST, a file to put into the image (repeatable)")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if err := run(*ref, *entrypoint, *user, *output, files); err != nil {
		fmt.Fprintf(os.Stderr, "oci-image: %v\n", err)
		os.Exit(1)
	}
}

func run(ref, entrypoint, user, output string, files []string) error {
	if ref == "" || entrypoint == "" || output == "" || len(files) == 0 {
		return errors.New("--name, --entrypoint, --output and at least one --file are required")
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("--name %q: %w", ref, err)
	}
	layerTar, err := layerFrom(files)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config = v1.Config{
		Entrypoint: []string{entrypoint},
		User:       user,
		Env:        []string{"PATH=/"},
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	tmp := output + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return err
	}
	return os.Rename(tmp, output)
}

// layerFrom writes each SRC:DEST into a tar stream, executable and root-owned.
func layerFrom(files []string) ([]byte, error) {
	sort.Strings(files)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, spec := range files {
		src, dest, ok := strings.Cut(spec, ":")
		if !ok || !strings.HasPrefix(dest, "/") {
			return nil, fmt.Errorf("--file %q: want SRC:/DEST", spec)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(dest, "/"),
			Mode:    0o755,
			Size:    int64(len(data)),
			ModTime: time.Unix(0, 0),
			Format:  tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
