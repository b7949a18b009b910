package consent

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
