// Package tz converts between the Windows time-zone IDs that Microsoft Graph
// and Outlook use ("Pacific Standard Time", "W. Europe Standard Time", "UTC")
// and IANA zone names ("America/Los_Angeles"), and loads either as a
// *time.Location.
//
// [IANA] gives a Windows zone's default IANA zone, [Windows] the Windows zone
// of an IANA zone, and [Location] the *time.Location of either. Windows IDs
// match in any case; "tzone://Microsoft/Utc" is UTC. Outlook's custom zones
// ("tzone://Microsoft/Custom", a customTimeZone named "Customized Time Zone")
// carry their rules in the event or the working hours, not in a name, and
// are not known here.
//
// # Data
//
// The mapping is CLDR's common/supplemental/windowsZones.xml, embedded
// unmodified and parsed on first use; README.md next to it names the CLDR
// commit and UNICODE-LICENSE.txt holds its licence. CLDR names IANA zones by
// the IDs it first adopted, so some are older spellings ("Asia/Calcutta",
// "Europe/Kiev"); [Windows] also accepts their current names (see
// aliases.go), and [IANA] returns CLDR's, which the zone database keeps as
// links.
//
// # Zone database
//
// [IANA] and [Windows] on Windows IDs are pure table lookups. Checking an
// IANA name, and [Location], use time.LoadLocation, which reads the host's
// zone database (or $ZONEINFO, or the Go installation's copy). On a host
// without one, every zone but "UTC" fails. This package does not import
// time/tzdata, which would add about 450 KB to every binary that links it;
// a program that must run on such hosts (scratch or distroless images,
// Windows without Go installed) imports time/tzdata itself or builds with
// -tags timetzdata. The package's tests import it, so they do not depend on
// the machine.
package tz
