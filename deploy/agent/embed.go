// Package agentdeploy holds the files packagers and `canhgac agent
// install` share: the systemd unit for the endpoint agent.
package agentdeploy

import _ "embed"

// SystemdUnit is canhgac-agent.service.
//
//go:embed canhgac-agent.service
var SystemdUnit string
