package pattern

import "unsafe"

// unsafeString views b as a string without copying. The result must not be
// retained beyond the life of b's contents.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// unsafeBytes views s as a byte slice without copying; it must not be
// written to.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
