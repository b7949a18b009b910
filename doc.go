// Package m365link connects an application's records (vendors, suppliers,
// companies) to its users' Microsoft 365 mail and calendar.
//
// This root package holds the vocabulary every subpackage shares: who an
// account or mailbox is ([Account], [Mailbox]), what the sync engine hands a
// host ([Message], [Event], [Contact], [EmailAddress]) and the errors every
// package returns ([GraphError], [ReconnectError] and sentinels such as
// [ErrThrottled] for use with errors.Is). It imports no subpackage.
package m365link
