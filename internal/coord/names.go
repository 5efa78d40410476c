package coord

// sectionOf returns the config section of a role ("rootCoord").
func sectionOf(role string) string {
	switch role {
	case "rootcoord":
		return "rootCoord"
	case "datacoord":
		return "dataCoord"
	case "querycoord":
		return "queryCoord"
	}
	return role
}

// enableEnvOf returns the environment variable that enables standby for a
// role ("ROOT_COORD_ENABLE_ACTIVE_STANDBY").
func enableEnvOf(role string) string {
	switch role {
	case "rootcoord":
		return "ROOT_COORD_ENABLE_ACTIVE_STANDBY"
	case "datacoord":
		return "DATA_COORD_ENABLE_ACTIVE_STANDBY"
	case "querycoord":
		return "QUERY_COORD_ENABLE_ACTIVE_STANDBY"
	}
	return ""
}
