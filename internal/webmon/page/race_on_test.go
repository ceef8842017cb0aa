//go:build race

package page

// raceDetector is true in -race builds, where the full injection matrix
// would take minutes; those runs check a sample (the code paths and their
// races), and `make test` runs the whole matrix again without -race.
const raceDetector = true
