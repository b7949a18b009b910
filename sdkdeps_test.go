package m365link_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Only package graphsdk imports msgraph-sdk-go (DESIGN.md, Dependencies):
// a host importing any other package of the module — or running any
// other package's tests — never compiles the SDK. go list reads every
// package of the module with its tests, without building anything.
func TestOnlyGraphsdkImportsTheSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every package of the module with go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	const sdk = "github.com/microsoftgraph/msgraph-sdk-go"
	const allowed = "github.com/m365link/m365link/graphsdk"
	out, err := exec.Command(goTool, "list", "-test", "-f", `{{.ImportPath}}{{"\t"}}{{join .Imports " "}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), "\t")
		if name, _, _ := strings.Cut(pkg, " "); name == allowed || name == allowed+"_test" || name == allowed+".test" {
			continue // graphsdk, its tests and its test binary
		}
		seen++
		for dep := range strings.FieldsSeq(deps) {
			if dep == sdk || strings.HasPrefix(dep, sdk+"/") || strings.HasPrefix(dep, sdk+"-core") {
				t.Errorf("%s depends on %s: only %s may import the SDK", pkg, dep, allowed)
				break
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list named only %d packages:\n%s", seen, out)
	}
}
