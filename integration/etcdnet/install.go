package etcdnet

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/payupto/pay-up-to/integration/proc"
)

// Version is the etcd that Install builds by default; Version2 is a
// second minor version the tests also run.
const (
	Version  = "v3.6.16"
	Version2 = "v3.5.35"
)

// Install returns the path of the etcd server binary of version (such as
// Version) in dir, building it there first unless it is already there. An
// empty dir means the user cache directory (pay-up-to/etcd-VERSION in it).
//
// `go install go.etcd.io/etcd/server/v3@VERSION` fails (etcd's go.mod has
// replace directives), so Install builds from a throwaway module instead,
// in a temporary directory inside dir: go.mod of the project is never
// touched.
func Install(version, dir string) (string, error) {
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir = filepath.Join(cache, "pay-up-to", "etcd-"+version)
	}
	bin := filepath.Join(dir, "etcd")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build beside the final name, then rename, so that a concurrent
	// caller never sees half a binary.
	tmp, err := os.MkdirTemp(dir, "build")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	goBin, err := proc.Go()
	if err != nil {
		return "", err
	}
	pkg := "go.etcd.io/etcd/server/v3"
	for _, args := range [][]string{
		{"mod", "init", "x"},
		{"get", pkg + "@" + version},
		{"build", "-o", "etcd", pkg},
	} {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("etcdnet: go %s: %v\n%s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	if err := os.Rename(filepath.Join(tmp, "etcd"), bin); err != nil {
		return "", err
	}
	return bin, nil
}
