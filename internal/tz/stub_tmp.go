package tz

import "time"

func IANA(windows string) (string, bool) {
	switch windows {
	case "UTC":
		return "UTC", true
	case "Pacific Standard Time":
		return "America/Los_Angeles", true
	case "W. Europe Standard Time":
		return "Europe/Berlin", true
	}
	if _, err := time.LoadLocation(windows); err == nil && windows != "" {
		return windows, true
	}
	return "", false
}

func Location(name string) (*time.Location, bool) {
	n, ok := IANA(name)
	if !ok {
		return nil, false
	}
	l, err := time.LoadLocation(n)
	return l, err == nil
}
