package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fogbank/fogbank/internal/protocol"
)

// md5Hex is the MD5OfMessageBody digest.
func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is the digest SQS returns as MD5OfMessageAttributes (and,
// over the system attributes, MD5OfMessageSystemAttributes), which the SDKs
// recompute: for each attribute in name order, the name, the data type and
// the value, each prefixed with its 4-byte big-endian length, with a
// transport byte (1: string, 2: binary, 3: string list, 4: binary list)
// before the value. "" for no attributes.
func md5OfAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	var n [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		put([]byte(name))
		put([]byte(a.DataType))
		switch {
		case a.BinaryValue != nil || strings.HasPrefix(a.DataType, "Binary") && len(a.BinaryListValues) == 0:
			h.Write([]byte{2})
			put(a.BinaryValue)
		case len(a.StringListValues) > 0:
			h.Write([]byte{3})
			for _, s := range a.StringListValues {
				put([]byte(s))
			}
		case len(a.BinaryListValues) > 0:
			h.Write([]byte{4})
			for _, b := range a.BinaryListValues {
				put(b)
			}
		default:
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validBodyChars reports whether s has only the characters SQS accepts:
// #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func validBodyChars(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
		i += size
	}
	return true
}

// attributesSize is the size SQS counts for message attributes: names,
// data types and values.
func attributesSize(attrs map[string]MessageAttributeValue) int {
	n := 0
	for name, a := range attrs {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
		for _, s := range a.StringListValues {
			n += len(s)
		}
		for _, b := range a.BinaryListValues {
			n += len(b)
		}
	}
	return n
}

// validateMessageAttributes checks user message attributes as SendMessage
// does.
func validateMessageAttributes(attrs map[string]MessageAttributeValue) *protocol.Error {
	if len(attrs) > maxMessageAttrs {
		return errInvalidParameter("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttrs)
	}
	for _, name := range sortedKeys(attrs) {
		if err := validateAttrName(name); err != nil {
			return err
		}
		if err := validateAttrValue(name, attrs[name], "user"); err != nil {
			return err
		}
	}
	return nil
}

func validateAttrName(name string) *protocol.Error {
	if name == "" {
		return errInvalidParameter("The request must contain non-empty message attribute name.")
	}
	if len(name) > 256 {
		return errInvalidParameter("Message (user) attribute name '%s' exceeds the maximum allowed length of 256 characters.", name)
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
		return errInvalidParameter("Message (user) attribute name '%s' uses a prefix reserved for Amazon use.", name)
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return errInvalidParameter("Message (user) attribute name '%s' can not start or end with a period (.), or have multiple periods in succession.", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c > 127 && c != utf8.RuneError) {
			return errInvalidParameter("Message (user) attribute name '%s' contains invalid character(s).", name)
		}
	}
	return nil
}

// validateAttrValue checks one attribute value; kind is "user" or "system".
func validateAttrValue(name string, a MessageAttributeValue, kind string) *protocol.Error {
	dt := a.DataType
	if dt == "" {
		return errInvalidParameter("The message (%s) attribute '%s' must contain a non-empty attribute type.", kind, name)
	}
	base, custom, _ := strings.Cut(dt, ".")
	if len(dt) > 256 || (base != "String" && base != "Number" && base != "Binary") || strings.Contains(dt, ".") && custom == "" {
		return errInvalidParameter("The type of message (%s) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", kind, name)
	}
	if len(a.StringListValues) > 0 || len(a.BinaryListValues) > 0 {
		return errInvalidParameter("Message (%s) attribute '%s': list values are not supported.", kind, name)
	}
	switch base {
	case "Binary":
		if len(a.BinaryValue) == 0 {
			return errInvalidParameter("Message (%s) attribute '%s' must contain a non-empty value of type 'Binary'.", kind, name)
		}
		if a.StringValue != "" {
			return errInvalidParameter("Message (%s) attribute '%s' with type 'Binary' must use field 'Binary'.", kind, name)
		}
	default:
		if a.StringValue == "" {
			return errInvalidParameter("Message (%s) attribute '%s' must contain a non-empty value of type '%s'.", kind, name, base)
		}
		if a.BinaryValue != nil {
			return errInvalidParameter("Message (%s) attribute '%s' with type '%s' must use field 'String'.", kind, name, base)
		}
		if !validBodyChars(a.StringValue) {
			return errInvalidParameter("Message (%s) attribute '%s' contains invalid characters. %s", kind, name, msgInvalidChars)
		}
		if base == "Number" {
			if err := validateNumber(a.StringValue); err != nil {
				return errInvalidParameter("Can't cast the value of message (%s) attribute '%s' to a number.", kind, name)
			}
		}
	}
	return nil
}

// validateNumber accepts what SQS's Number type does: a decimal with up to
// 38 digits of precision, between -10^128 and 10^126.
func validateNumber(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return err
	}
	if f > 1e126 || f < -1e128 {
		return fmt.Errorf("sqs: number %s out of range", s)
	}
	return nil
}

// validateSystemAttributes checks MessageSystemAttributes (only
// AWSTraceHeader, a String, may be sent).
func validateSystemAttributes(attrs map[string]MessageAttributeValue) *protocol.Error {
	for _, name := range sortedKeys(attrs) {
		if name != "AWSTraceHeader" {
			return errInvalidParameter("Message system attribute name '%s' is invalid.", name)
		}
		a := attrs[name]
		if err := validateAttrValue(name, a, "system"); err != nil {
			return err
		}
		if a.DataType != "String" {
			return errInvalidParameter("Message system attribute '%s' must be of type 'String'.", name)
		}
	}
	return nil
}

// validIdentifier reports whether s is a valid MessageGroupId or
// MessageDeduplicationId: 1 to 128 alphanumeric or punctuation characters.
func validIdentifier(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// validBatchID reports whether s is a valid batch entry Id.
func validBatchID(s string) bool {
	if len(s) < 1 || len(s) > 80 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// selects returns a test for attribute names: whether a name is one of
// names, or names holds "All".
func selects(names []string) func(string) bool {
	all := slices.Contains(names, attrAll)
	return func(n string) bool { return all || slices.Contains(names, n) }
}

// attrNameMatches reports whether a message attribute name is selected by
// the MessageAttributeNames of a ReceiveMessage call ("All", ".*", "*",
// "prefix.*" or exact names).
func attrNameMatches(name string, sel []string) bool {
	for _, s := range sel {
		switch {
		case s == "All" || s == ".*" || s == "*":
			return true
		case strings.HasSuffix(s, ".*"):
			if strings.HasPrefix(name, strings.TrimSuffix(s, ".*")) {
				return true
			}
		case s == name:
			return true
		}
	}
	return false
}
