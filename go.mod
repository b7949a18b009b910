module github.com/m365link/m365link

go 1.26.8

require (
	golang.org/x/sync v0.25.0
	golang.org/x/time v0.16.0
)

require (
	github.com/AzureAD/microsoft-authentication-library-for-go v1.10.1 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)
