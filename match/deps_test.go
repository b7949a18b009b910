package match_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the matcher standing alone: a host that only
// matches addresses compiles the root vocabulary, vendors and match, and
// no sync engine, Graph client or OAuth library (DESIGN.md, Import
// direction). The decorator that joins match to sync is match/matchsync.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/m365link/m365link/match", "github.com/m365link/m365link/vendors").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	var ours []string
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/m365link/m365link" || strings.HasPrefix(p, "github.com/m365link/m365link/") {
			ours = append(ours, p)
		}
		for _, bad := range []string{"golang.org/x/oauth2", "golang.org/x/time", "golang.org/x/sync", "/internal/graph"} {
			if strings.HasPrefix(p, bad) || strings.HasSuffix(p, bad) {
				t.Errorf("match or vendors depends on %s", p)
			}
		}
	}
	want := []string{"github.com/m365link/m365link", "github.com/m365link/m365link/vendors", "github.com/m365link/m365link/match"}
	if strings.Join(ours, " ") != strings.Join(want, " ") {
		t.Errorf("the module's packages match and vendors build on: %v, want %v", ours, want)
	}
}
