package m365link

import "strings"

// Cloud is one Microsoft cloud: where accounts sign in and where Graph
// lives. One value decides the authority, the Graph base and the app-only
// scope everywhere: every package takes it (through its Config or the
// shared graphclient.Client) rather than separate URLs.
type Cloud struct {
	// Name identifies the cloud in logs and errors, e.g. "global".
	Name string
	// AuthorityHost is the identity platform, e.g. https://login.microsoftonline.com.
	AuthorityHost string
	// IssuerHost prefixes ID token issuers ("{IssuerHost}/{tenant}/v2.0").
	IssuerHost string
	// GraphBase is Graph's v1.0 root, e.g. https://graph.microsoft.com/v1.0.
	GraphBase string
	// GraphResource is Graph's resource URI, the prefix of every Graph
	// scope, e.g. https://graph.microsoft.com.
	GraphResource string
}

// The Microsoft clouds (learn.microsoft.com/graph/deployments).
var (
	// Global is the global service.
	Global = Cloud{Name: "global", AuthorityHost: "https://login.microsoftonline.com", IssuerHost: "https://login.microsoftonline.com",
		GraphBase: "https://graph.microsoft.com/v1.0", GraphResource: "https://graph.microsoft.com"}
	// USGovL4 is Microsoft 365 GCC High (US Government L4).
	USGovL4 = Cloud{Name: "usgov-l4", AuthorityHost: "https://login.microsoftonline.us", IssuerHost: "https://login.microsoftonline.us",
		GraphBase: "https://graph.microsoft.us/v1.0", GraphResource: "https://graph.microsoft.us"}
	// USGovL5 is Microsoft 365 DoD (US Government L5).
	USGovL5 = Cloud{Name: "usgov-l5", AuthorityHost: "https://login.microsoftonline.us", IssuerHost: "https://login.microsoftonline.us",
		GraphBase: "https://dod-graph.microsoft.us/v1.0", GraphResource: "https://dod-graph.microsoft.us"}
	// China is Microsoft 365 operated by 21Vianet.
	China = Cloud{Name: "china", AuthorityHost: "https://login.chinacloudapi.cn", IssuerHost: "https://login.partner.microsoftonline.cn",
		GraphBase: "https://microsoftgraph.chinacloudapi.cn/v1.0", GraphResource: "https://microsoftgraph.chinacloudapi.cn"}
)

// OrDefault returns c, or Global when c is the zero Cloud.
func (c Cloud) OrDefault() Cloud {
	if c == (Cloud{}) {
		return Global
	}
	return c
}

// AppScope is the scope an app-only (client credentials) token asks for:
// every application permission granted to the app on this cloud's Graph.
func (c Cloud) AppScope() string {
	return strings.TrimRight(c.OrDefault().GraphResource, "/") + "/.default"
}

// Scope returns a Graph permission ("Mail.Read") as a scope of this
// cloud's Graph resource ("https://graph.microsoft.us/Mail.Read").
func (c Cloud) Scope(permission string) string {
	return strings.TrimRight(c.OrDefault().GraphResource, "/") + "/" + permission
}

// String returns the cloud's name.
func (c Cloud) String() string { return c.OrDefault().Name }

// CloudNamed returns the cloud whose Name is name ("global", "usgov-l4",
// "usgov-l5", "china"; case and surrounding spaces ignored; "" is Global),
// for configuration read from the environment or flags. ok is false for
// any other name.
func CloudNamed(name string) (c Cloud, ok bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return Global, true
	}
	for _, c := range []Cloud{Global, USGovL4, USGovL5, China} {
		if c.Name == name {
			return c, true
		}
	}
	return Cloud{}, false
}
