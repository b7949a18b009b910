package consent

// Cloud names a Microsoft cloud: where users sign in and where Graph lives.
type Cloud struct {
	Name string
	// AuthorityHost is the identity platform, e.g. https://login.microsoftonline.com.
	AuthorityHost string
	// IssuerHost prefixes ID token issuers ("{IssuerHost}/{tenant}/v2.0").
	IssuerHost string
	// GraphBase is Graph's v1.0 root.
	GraphBase string
	// GraphResource is Graph's resource URI, the prefix of every Graph scope.
	GraphResource string
}

// The Microsoft clouds.
var (
	Global = Cloud{Name: "global", AuthorityHost: "https://login.microsoftonline.com", IssuerHost: "https://login.microsoftonline.com",
		GraphBase: "https://graph.microsoft.com/v1.0", GraphResource: "https://graph.microsoft.com"}
	// USGovL4 is Microsoft 365 GCC High.
	USGovL4 = Cloud{Name: "usgov-l4", AuthorityHost: "https://login.microsoftonline.us", IssuerHost: "https://login.microsoftonline.us",
		GraphBase: "https://graph.microsoft.us/v1.0", GraphResource: "https://graph.microsoft.us"}
	// USGovL5 is Microsoft 365 DoD.
	USGovL5 = Cloud{Name: "usgov-l5", AuthorityHost: "https://login.microsoftonline.us", IssuerHost: "https://login.microsoftonline.us",
		GraphBase: "https://dod-graph.microsoft.us/v1.0", GraphResource: "https://dod-graph.microsoft.us"}
	// China is Microsoft 365 operated by 21Vianet.
	China = Cloud{Name: "china", AuthorityHost: "https://login.chinacloudapi.cn", IssuerHost: "https://login.partner.microsoftonline.cn",
		GraphBase: "https://microsoftgraph.chinacloudapi.cn/v1.0", GraphResource: "https://microsoftgraph.chinacloudapi.cn"}
)

// Tenants that are not a directory of their own.
const (
	// Organizations lets any work or school account sign in.
	Organizations = "organizations"
	// Common lets work, school and personal Microsoft accounts sign in.
	Common = "common"
	// Consumers lets only personal Microsoft accounts sign in.
	Consumers = "consumers"
	// PersonalTenantID is the tenant ID of every personal Microsoft account
	// (Outlook.com, Hotmail).
	PersonalTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"
)
