// Command ociimage builds mamori's container image without a container
// engine: one layer (the static binary, a non-root user, CA certificates,
// the container config), written as an OCI image layout directory and as a
// `docker load` tarball. It is what packaging/container/Dockerfile
// describes, made reproducible: every time in the image is
// SOURCE_DATE_EPOCH, so the same inputs give the same digest.
//
//	go run ./ociimage -bin dist/linux_amd64/mamori -arch amd64 -version v1.2.3 \
//	    -config ../packaging/container/mamori.yaml -out dist/image
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "the static linux mamori binary")
	flag.StringVar(&o.arch, "arch", "amd64", "the binary's GOARCH")
	flag.StringVar(&o.version, "version", "dev", "the image's version label and tag")
	flag.StringVar(&o.config, "config", "", "the server config to put in /etc/mamori/mamori.yaml")
	flag.StringVar(&o.caFile, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include (\"\" for none)")
	flag.StringVar(&o.out, "out", "", "output directory: OUT/oci (OCI layout) and OUT/mamori-image.tar")
	flag.StringVar(&o.repo, "repo", "mamori/mamori", "image name for the tarball's tag")
	flag.Parse()
	if o.bin == "" || o.out == "" || o.config == "" {
		fmt.Fprintln(os.Stderr, "ociimage: -bin, -config and -out are required")
		os.Exit(2)
	}
	o.created = time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ociimage: SOURCE_DATE_EPOCH: %v\n", err)
			os.Exit(2)
		}
		o.created = time.Unix(n, 0).UTC()
	}
	digest, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ociimage: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(digest)
}
