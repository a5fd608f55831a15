package promnet

import (
	"github.com/payupto/pay-up-to/integration/proc"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Version is the Prometheus that Install builds by default: module
// version v0.316.0 is Prometheus 3.16.0, as the module's VERSION file and
// `prometheus --version` say (Prometheus 3.x.y is tagged v0.3xx.y for Go).
const Version = "v0.316.0"

// Install returns the paths of the prometheus and promtool binaries of
// version (such as Version) in dir, building them there first unless both
// are already there. An empty dir means the user cache directory
// (pay-up-to/prometheus-VERSION in it).
//
// Install builds from a throwaway module in a temporary directory inside
// dir, so go.mod of the project is never touched. It gets the two command
// packages rather than the root module: `go get` of the root module alone
// records go.sum entries for no package's dependencies, and the builds
// then stop at "missing go.sum entry". The build has no tags: without
// builtinassets the web UI is not compiled in (its pages answer with an
// error), which the tests do not mind, as they use only the HTTP API.
func Install(version, dir string) (prometheus, promtool string, err error) {
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir = filepath.Join(cache, "pay-up-to", "prometheus-"+version)
	}
	prometheus = filepath.Join(dir, "prometheus")
	promtool = filepath.Join(dir, "promtool")
	if exists(prometheus) && exists(promtool) {
		return prometheus, promtool, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	// Build beside the final names, then rename, so that a concurrent
	// caller never sees half a binary.
	tmp, err := os.MkdirTemp(dir, "build")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	goBin, err := proc.Go()
	if err != nil {
		return "", "", err
	}
	goCmd := func(args ...string) ([]byte, error) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("promnet: go %s: %v\n%s", strings.Join(args, " "), err, proc.Tail(out, 20, 4000))
		}
		return out, nil
	}
	const mod = "github.com/prometheus/prometheus"
	if _, err := goCmd("mod", "init", "x"); err != nil {
		return "", "", err
	}
	if _, err := goCmd("get", mod+"/cmd/prometheus@"+version, mod+"/cmd/promtool@"+version); err != nil {
		return "", "", err
	}
	// Prometheus's Makefile stamps the release into the binaries; do the
	// same, from the module's VERSION file, so that --version and
	// prometheus_build_info say which release runs.
	ldflags := ""
	if out, err := goCmd("list", "-m", "-f", "{{.Dir}}", mod); err == nil {
		if v, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "VERSION")); err == nil {
			ldflags = "-X github.com/prometheus/common/version.Version=" + strings.TrimSpace(string(v))
		}
	}
	for _, name := range []string{"prometheus", "promtool"} {
		if _, err := goCmd("build", "-ldflags="+ldflags, "-o", name, mod+"/cmd/"+name); err != nil {
			return "", "", err
		}
	}
	for _, bin := range []string{prometheus, promtool} {
		if err := os.Rename(filepath.Join(tmp, filepath.Base(bin)), bin); err != nil {
			return "", "", err
		}
	}
	return prometheus, promtool, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
