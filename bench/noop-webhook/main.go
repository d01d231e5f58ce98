// A webhook written the way Go webhooks (Gatekeeper, Kyverno, policy-controller) are: net/http
// over TLS, so HTTP/2 whenever the client offers it. It reads and decodes each AdmissionReview,
// denies a write to an object named "locked" and allows every other one: the least a Go webhook
// that looks at the request must do. bench/apiserver.ts builds it with the Go toolchain and
// registers it beside Bulwark, so that the apiserver's own cost of calling any webhook is
// measured in the same run as Bulwark.
//
//	noop-webhook CERT KEY    listens on 127.0.0.1, an ephemeral port; prints "ready PORT"
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
)

type review struct {
	Request struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	} `json:"request"`
}

type status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type response struct {
	UID     string  `json:"uid"`
	Allowed bool    `json:"allowed"`
	Status  *status `json:"status,omitempty"`
}

type answer struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Response   response `json:"response"`
}

func validate(w http.ResponseWriter, r *http.Request) {
	var in review
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := answer{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}
	out.Response = response{UID: in.Request.UID, Allowed: in.Request.Name != "locked"}
	if !out.Response.Allowed {
		out.Response.Status = &status{Code: 403, Reason: "Forbidden", Message: "the ConfigMap is locked"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: noop-webhook CERT KEY")
		os.Exit(2)
	}
	pair, err := tls.LoadX509KeyPair(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := &http.Server{
		Handler:   http.HandlerFunc(validate),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	fmt.Printf("ready %d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.ServeTLS(listener, "", ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
