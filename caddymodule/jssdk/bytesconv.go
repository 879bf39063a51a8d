package jssdk

import "unsafe"

// bytesString views b as a string without copying. Callers must not change
// b while the string is in use; it is used only for arguments that are read
// and not kept.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
