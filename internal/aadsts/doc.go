// Package aadsts reads the error descriptions of the Microsoft identity
// platform, in one place for the packages that meet them: tokens (token
// endpoint answers) and consent (authorize and admin-consent callbacks).
package aadsts
