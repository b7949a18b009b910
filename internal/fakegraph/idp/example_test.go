package idp_test

import (
	"fmt"

	"github.com/m365link/m365link/internal/fakegraph/idp"
)

// A fake identity platform on loopback: each tenant's authority is a path
// under its URL, as login.microsoftonline.com's are.
func ExampleNew() {
	s := idp.New()
	defer s.Close()
	fmt.Println(s.Authority("contoso.onmicrosoft.com") == s.URL()+"/contoso.onmicrosoft.com")
	// Output:
	// true
}
