package dom

import "unicode"

// Character classes of XML 1.0 names as libxml2's complex name parser uses
// them; approximated with Unicode categories (they only decide where an
// entity name ends in text that stays literal either way).
func isNameLetter(r rune) bool { return unicode.IsLetter(r) }
func isNameDigit(r rune) bool  { return unicode.IsDigit(r) }
func isCombining(r rune) bool  { return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) }
func isExtender(r rune) bool {
	switch r {
	case 0xB7, 0x2D0, 0x2D1, 0x387, 0x640, 0xE46, 0xEC6, 0x3005:
		return true
	}
	return r >= 0x3031 && r <= 0x3035 || r >= 0x309D && r <= 0x309E || r >= 0x30FC && r <= 0x30FE
}
