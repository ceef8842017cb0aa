//go:build !windows

package ransom

// hideFile does nothing outside Windows: a leading dot would hide a decoy
// from the user but also from ransomware that skips dotfiles.
func hideFile(string) {}
