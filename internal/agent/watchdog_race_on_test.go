//go:build race

package agent

// raceDetector is true in -race builds, whose instrumentation makes CPU
// figures meaningless; the idle-cost test runs only without -race.
const raceDetector = true
