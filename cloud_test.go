package m365link_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/m365link/m365link"
)

func TestClouds(t *testing.T) {
	for _, tc := range []struct {
		cloud                                  m365link.Cloud
		authority, issuer, graph, scope, write string
	}{
		{m365link.Global, "https://login.microsoftonline.com", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0",
			"https://graph.microsoft.com/.default", "https://graph.microsoft.com/Mail.Send"},
		{m365link.USGovL4, "https://login.microsoftonline.us", "https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0",
			"https://graph.microsoft.us/.default", "https://graph.microsoft.us/Mail.Send"},
		{m365link.USGovL5, "https://login.microsoftonline.us", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0",
			"https://dod-graph.microsoft.us/.default", "https://dod-graph.microsoft.us/Mail.Send"},
		{m365link.China, "https://login.chinacloudapi.cn", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0",
			"https://microsoftgraph.chinacloudapi.cn/.default", "https://microsoftgraph.chinacloudapi.cn/Mail.Send"},
		{m365link.Cloud{}, "https://login.microsoftonline.com", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0",
			"https://graph.microsoft.com/.default", "https://graph.microsoft.com/Mail.Send"},
	} {
		t.Run(tc.cloud.String(), func(t *testing.T) {
			c := tc.cloud.OrDefault()
			assert.Equal(t, tc.authority, c.AuthorityHost)
			assert.Equal(t, tc.issuer, c.IssuerHost)
			assert.Equal(t, tc.graph, c.GraphBase)
			assert.Equal(t, tc.scope, tc.cloud.AppScope())
			assert.Equal(t, tc.write, tc.cloud.Scope("Mail.Send"))
		})
	}
}

func TestCloudNamed(t *testing.T) {
	for name, want := range map[string]m365link.Cloud{"": m365link.Global, "global": m365link.Global, " USGov-L4 ": m365link.USGovL4, "usgov-l5": m365link.USGovL5, "china": m365link.China} {
		got, ok := m365link.CloudNamed(name)
		if !ok || got != want {
			t.Errorf("CloudNamed(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if got, ok := m365link.CloudNamed("gcchigh"); ok || got != (m365link.Cloud{}) {
		t.Errorf("CloudNamed(gcchigh) = %v, %v; want no cloud", got, ok)
	}
}
