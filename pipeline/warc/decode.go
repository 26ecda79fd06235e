package warc

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/gogs/chardet"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// Charset names are reported in upper case, the way uchardet (and so
// datatrove's cchardet) spells them: "UTF-8", "WINDOWS-1252", "GB18030".
const charsetUTF8 = "UTF-8"

// Decoded is the outcome of turning a payload into text.
type Decoded struct {
	Text    string
	Charset string // codec used; empty when undecodable
	// Detected is the charset the fallback detector guessed (may be set
	// even when decoding failed, e.g. "UTF-8" for broken UTF-8).
	Detected string
}

// Decode turns payload bytes into a string the way datatrove does: strict
// UTF-8 first; when that fails, a charset detector guesses and the payload is
// decoded strictly with the guess. ok is false when the detector guesses
// nothing, guesses UTF-8 again, names a charset we cannot decode, or the
// payload is not valid in the guessed charset. HTTP and <meta> charsets are
// deliberately ignored, like datatrove.
func Decode(b []byte) (d Decoded, ok bool) {
	if utf8.Valid(b) {
		return Decoded{Text: string(b), Charset: charsetUTF8}, true
	}
	name := detectCharset(b)
	d.Detected = name
	if name == "" || name == charsetUTF8 {
		return d, false
	}
	text, ok := decodeStrict(b, name)
	if !ok {
		return d, false
	}
	d.Text = text
	d.Charset = name
	return d, true
}

// detectCharset returns the best guess for a payload that is not valid
// UTF-8, upper-cased, or "".
//
// The ICU-derived detector (gogs/chardet) stands in for datatrove's uchardet,
// with two corrections measured on the golden pages (see mostlyUTF8 and
// c1Superset); its guesses still differ on some pages (the package tests
// hold the measured agreement).
func detectCharset(b []byte) string {
	if mostlyUTF8(b) {
		return charsetUTF8
	}
	name := icuGuess(b)
	// uchardet names the Windows superset as soon as a byte in 0x80-0x9F
	// (C1 controls in ISO-8859) occurs, the ISO name otherwise; the ICU
	// detector does not reliably, so decide on the bytes.
	if c1, ok := c1Superset[name]; ok && hasC1(b) {
		return c1
	}
	return name
}

var c1Superset = map[string]string{"ISO-8859-1": "WINDOWS-1252", "ISO-8859-2": "WINDOWS-1250"}

func hasC1(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 && c <= 0x9f {
			return true
		}
	}
	return false
}

// mostlyUTF8 reports whether b has more well-formed multi-byte UTF-8
// sequences than invalid bytes. uchardet answers "UTF-8" for such pages
// (UTF-8 with a few broken bytes), which datatrove then skips as
// undecodable; the ICU detector would guess a single-byte charset instead.
func mostlyUTF8(b []byte) bool {
	valid, invalid := 0, 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		} else {
			valid++
		}
		i += size
	}
	return valid > invalid
}

// icuGuess asks the ICU-derived detector.
func icuGuess(b []byte) string {
	results, err := textDetector.DetectAll(b)
	if err != nil || len(results) == 0 {
		return ""
	}
	// Ties are broken by name so the result never depends on goroutine
	// scheduling inside the detector.
	best := results[0]
	for _, r := range results[1:] {
		if r.Confidence > best.Confidence ||
			(r.Confidence == best.Confidence && r.Charset < best.Charset) {
			best = r
		}
	}
	return normalizeCharset(best.Charset)
}

var textDetector = chardet.NewTextDetector()

func normalizeCharset(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch n {
	case "GB-18030":
		return "GB18030"
	case "ISO-8859-8-I":
		return "ISO-8859-8"
	}
	return n
}

// codec is a strict decoder for one charset.
type codec struct {
	enc encoding.Encoding
	// undefined marks the bytes of a Windows code page that Python's codecs
	// (datatrove) reject; x/text maps them to U+FFFD (or, in some tables,
	// to the C1 control of the same value).
	undefined [256]bool
	windows   bool
}

// codecs maps upper-case charset names to decoders.
var codecs = map[string]*codec{
	"ISO-8859-1":   {enc: charmap.ISO8859_1},
	"ISO-8859-2":   {enc: charmap.ISO8859_2},
	"ISO-8859-3":   {enc: charmap.ISO8859_3},
	"ISO-8859-4":   {enc: charmap.ISO8859_4},
	"ISO-8859-5":   {enc: charmap.ISO8859_5},
	"ISO-8859-6":   {enc: charmap.ISO8859_6},
	"ISO-8859-7":   {enc: charmap.ISO8859_7},
	"ISO-8859-8":   {enc: charmap.ISO8859_8},
	"ISO-8859-9":   {enc: charmap.ISO8859_9},
	"ISO-8859-10":  {enc: charmap.ISO8859_10},
	"ISO-8859-13":  {enc: charmap.ISO8859_13},
	"ISO-8859-14":  {enc: charmap.ISO8859_14},
	"ISO-8859-15":  {enc: charmap.ISO8859_15},
	"ISO-8859-16":  {enc: charmap.ISO8859_16},
	"WINDOWS-1250": {enc: charmap.Windows1250, windows: true},
	"WINDOWS-1251": {enc: charmap.Windows1251, windows: true},
	"WINDOWS-1252": {enc: charmap.Windows1252, windows: true},
	"WINDOWS-1253": {enc: charmap.Windows1253, windows: true},
	"WINDOWS-1254": {enc: charmap.Windows1254, windows: true},
	"WINDOWS-1255": {enc: charmap.Windows1255, windows: true},
	"WINDOWS-1256": {enc: charmap.Windows1256, windows: true},
	"WINDOWS-1257": {enc: charmap.Windows1257, windows: true},
	"WINDOWS-1258": {enc: charmap.Windows1258, windows: true},
	"TIS-620":      {enc: charmap.Windows874, windows: true},
	"KOI8-R":       {enc: charmap.KOI8R},
	"KOI8-U":       {enc: charmap.KOI8U},
	"IBM866":       {enc: charmap.CodePage866},
	"IBM855":       {enc: charmap.CodePage855},
	"MAC-CYRILLIC": {enc: charmap.MacintoshCyrillic},
	"GB18030":      {enc: simplifiedchinese.GB18030},
	"GB2312":       {enc: simplifiedchinese.GBK},
	"HZ-GB-2312":   {enc: simplifiedchinese.HZGB2312},
	"BIG5":         {enc: traditionalchinese.Big5},
	"EUC-JP":       {enc: japanese.EUCJP},
	"SHIFT_JIS":    {enc: japanese.ShiftJIS},
	"ISO-2022-JP":  {enc: japanese.ISO2022JP},
	"EUC-KR":       {enc: korean.EUCKR},
	"UTF-16BE":     {enc: unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)},
	"UTF-16LE":     {enc: unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)},
	"UTF-32BE":     {enc: utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM)},
	"UTF-32LE":     {enc: utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM)},
}

func init() {
	for _, c := range codecs {
		cm, ok := c.enc.(*charmap.Charmap)
		if !c.windows || !ok {
			continue
		}
		for b := 0x80; b <= 0x9f; b++ {
			if r := cm.DecodeByte(byte(b)); r == rune(b) || r == utf8.RuneError {
				c.undefined[b] = true
			}
		}
	}
}

// decodeStrict decodes b as charset name and fails where Python's strict
// codec would. x/text substitutes U+FFFD for invalid input instead of
// failing, so a U+FFFD in the output (which the supported charsets do not
// produce from valid input) is taken as an error.
func decodeStrict(b []byte, name string) (string, bool) {
	c, found := codecs[name]
	if !found {
		return "", false
	}
	if c.windows {
		for _, x := range b {
			if c.undefined[x] {
				return "", false
			}
		}
	}
	out, err := c.enc.NewDecoder().Bytes(b)
	if err != nil || bytes.Contains(out, replacementUTF8) {
		return "", false
	}
	return string(out), true
}

var replacementUTF8 = []byte(string(utf8.RuneError))
