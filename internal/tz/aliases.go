package tz

// aliases maps IANA names that CLDR's file does not list to the name it
// lists for the same zone, for [Windows].
//
// CLDR keeps the zone IDs it first adopted, so for zones the tz database has
// since renamed the file has the old name (Asia/Calcutta, Europe/Kiev) and
// not the one current systems and Graph report (Asia/Kolkata, Europe/Kyiv).
// These are those renames, from the tz database's "backward" file, limited
// to zones the file lists, plus Go's and the tz database's own names for
// UTC and GMT. Other backward links (US/Pacific, Etc/Zulu, CET…) are not
// here: Graph does not use them, and a deprecated name is better refused than
// guessed. TestAliases checks that every target is in the file and that both
// names load and keep the same offsets.
var aliases = map[string]string{
	"Africa/Asmara":                  "Africa/Asmera",
	"America/Argentina/Buenos_Aires": "America/Buenos_Aires",
	"America/Argentina/Catamarca":    "America/Catamarca",
	"America/Argentina/Cordoba":      "America/Cordoba",
	"America/Argentina/Jujuy":        "America/Jujuy",
	"America/Argentina/Mendoza":      "America/Mendoza",
	"America/Atikokan":               "America/Coral_Harbour",
	"America/Indiana/Indianapolis":   "America/Indianapolis",
	"America/Kentucky/Louisville":    "America/Louisville",
	"America/Nuuk":                   "America/Godthab",
	"Asia/Ho_Chi_Minh":               "Asia/Saigon",
	"Asia/Kathmandu":                 "Asia/Katmandu",
	"Asia/Kolkata":                   "Asia/Calcutta",
	"Asia/Yangon":                    "Asia/Rangoon",
	"Atlantic/Faroe":                 "Atlantic/Faeroe",
	"Europe/Kyiv":                    "Europe/Kiev",
	"GMT":                            "Etc/GMT",
	"Pacific/Chuuk":                  "Pacific/Truk",
	"Pacific/Kanton":                 "Pacific/Enderbury",
	"Pacific/Pohnpei":                "Pacific/Ponape",
	"UTC":                            "Etc/UTC",
}
