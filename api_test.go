package m365link_test

import (
	"bufio"
	"bytes"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// No exported name of a public package mentions an internal type in its
// signature, its fields or its methods: a host could not name, build or
// handle such a value (an issue found TestConnection taking an
// *internal/graph.Client). The check reads the packages' compiled export
// data, so it sees what the compiler sees.
func TestNoInternalTypeInPublicAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every package's export data")
	}
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}\t{{.Name}}\t{{.Module}}",
		"github.com/m365link/m365link/...").Output()
	require.NoError(t, err, "go list")
	exports := map[string]string{}
	var public []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		exports[f[0]] = f[1]
		if strings.HasPrefix(f[3], "github.com/m365link/m365link") && f[2] != "main" && !isInternal(f[0]) {
			public = append(public, f[0])
		}
	}
	require.Contains(t, public, "github.com/m365link/m365link/m365linktest")
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	for _, path := range public {
		pkg, err := imp.Import(path)
		require.NoError(t, err, path)
		c := &apiCheck{t: t, pkg: pkg, seen: map[types.Type]bool{}}
		for _, name := range pkg.Scope().Names() {
			obj := pkg.Scope().Lookup(name)
			if !obj.Exported() {
				continue
			}
			c.where = path + "." + name
			c.typ(obj.Type())
			if tn, ok := obj.(*types.TypeName); ok {
				if n, ok := types.Unalias(tn.Type()).(*types.Named); ok {
					c.under(n)
				}
			}
		}
	}
}

func isInternal(path string) bool {
	return strings.Contains(path+"/", "/internal/")
}

type apiCheck struct {
	t     *testing.T
	pkg   *types.Package
	where string
	seen  map[types.Type]bool
}

// under checks what a named type of the package shows: its exported
// fields or its interface, and its exported methods.
func (c *apiCheck) under(n *types.Named) {
	switch u := n.Underlying().(type) {
	case *types.Struct, *types.Interface:
		c.typ(u)
	}
	where := c.where
	defer func() { c.where = where }()
	for m := range n.Methods() {
		if m.Exported() {
			c.where = where + "." + m.Name()
			c.typ(m.Type())
		}
	}
}

func (c *apiCheck) typ(t types.Type) {
	if c.seen[t] {
		return
	}
	c.seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		c.typ(types.Unalias(t))
	case *types.Named:
		if p := t.Obj().Pkg(); p != nil && isInternal(p.Path()) {
			c.t.Errorf("%s mentions %s.%s", c.where, p.Path(), t.Obj().Name())
		}
		for a := range t.TypeArgs().Types() {
			c.typ(a)
		}
		if t.Obj().Pkg() == c.pkg && !t.Obj().Exported() {
			c.under(t) // what an unexported type shows through an exported name
		}
	case *types.Pointer:
		c.typ(t.Elem())
	case *types.Slice:
		c.typ(t.Elem())
	case *types.Array:
		c.typ(t.Elem())
	case *types.Map:
		c.typ(t.Key())
		c.typ(t.Elem())
	case *types.Chan:
		c.typ(t.Elem())
	case *types.Signature:
		for v := range t.Params().Variables() {
			c.typ(v.Type())
		}
		for v := range t.Results().Variables() {
			c.typ(v.Type())
		}
	case *types.Struct:
		for f := range t.Fields() {
			if f.Exported() || f.Embedded() {
				c.typ(f.Type())
			}
		}
	case *types.Interface:
		for m := range t.Methods() {
			c.typ(m.Type())
		}
	}
}

// The fakes render Graph's and the identity platform's answers from their
// own model: they import nothing of the library's Graph client, so a wire
// bug in the client cannot hide in the fake.
func TestFakesShareNoCodeWithTheClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}",
		"github.com/m365link/m365link/internal/fakegraph/...").Output()
	require.NoError(t, err, "go list")
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/m365link/m365link") {
			assert.Contains(t, dep, "/internal/fakegraph", "the fakes depend on %s", dep)
		}
	}
}
