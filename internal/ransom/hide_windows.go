package ransom

import "golang.org/x/sys/windows"

// hideFile sets the hidden attribute, so decoys stay out of the user's way
// in Explorer (ransomware lists hidden files too).
func hideFile(path string) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return
	}
	attrs, err := windows.GetFileAttributes(p)
	if err != nil {
		return
	}
	_ = windows.SetFileAttributes(p, attrs|windows.FILE_ATTRIBUTE_HIDDEN)
}
