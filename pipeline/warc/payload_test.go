package warc

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"testing"
)

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zl(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestHTTPBody(t *testing.T) {
	tests := []struct{ name, block, want string }{
		{"plain", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>", "<p>x</p>"},
		{"lf line ends", "HTTP/1.1 200 OK\nA: b\n\nbody", "body"},
		{"no blank line: all header", "HTTP/1.1 200 OK\r\nA: b\r\n", ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext\r\nde\r\n0\r\n\r\n", "abcde"},
		{"chunked but not really", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n<html>", "<html>"},
		{"chunk cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "abc"},
		{"chunk without terminator", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXYrest", "3\r\nabcrest"},
		{"gzip", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gz("hello"), "hello"},
		{"gzip chunked", "HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(gz("hello")), "hello"},
		{"deflate zlib", "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n\r\n" + zl("hello"), "hello"},
		{"claims gzip, is not", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n<html>", "<html>"},
		{"unsupported coding kept", "HTTP/1.1 200 OK\r\nContent-Encoding: x-gzip\r\n\r\nraw", "raw"},
	}
	for _, tt := range tests {
		if got := string(httpBody([]byte(tt.block))); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func chunk(s string) string {
	return string(append(append([]byte(hexN(len(s))+"\r\n"), s...), "\r\n0\r\n\r\n"...))
}

func hexN(n int) string {
	const digits = "0123456789abcdef"
	if n < 16 {
		return string(digits[n])
	}
	return hexN(n/16) + string(digits[n%16])
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, text, charset string
		ok                      bool
	}{
		{"utf8", "héllo", "héllo", "UTF-8", true},
		{"utf8 BOM kept", "\ufeffa", "\ufeffa", "UTF-8", true},
		{"empty", "", "", "UTF-8", true},
		{"mostly utf8 with a broken byte", "é è ê ë \xff", "", "", false},
	}
	for _, tt := range tests {
		d, ok := Decode([]byte(tt.in))
		if ok != tt.ok || d.Text != tt.text || d.Charset != tt.charset {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tt.name, d.Text, d.Charset, ok, tt.text, tt.charset, tt.ok)
		}
	}
	// Latin-1 text with a C1 byte decodes as Windows-1252 (uchardet's name).
	in := []byte("Das ist ein l\xe4ngerer deutscher Text \x96 mit \xfc und \xf6, der gen\xfcgend W\xf6rter enth\xe4lt, damit die Erkennung klappt.")
	d, ok := Decode(in)
	if !ok || d.Charset != "WINDOWS-1252" || !bytes.Contains([]byte(d.Text), []byte("–")) {
		t.Errorf("latin text: %q %v", d.Charset, ok)
	}
}

// TestWindowsUndefinedBytes checks the bytes Python's cp125x codecs reject
// (listed from CPython's codecs) against those we derive from x/text.
func TestWindowsUndefinedBytes(t *testing.T) {
	python := map[string][]byte{
		"WINDOWS-1250": {0x81, 0x83, 0x88, 0x90, 0x98},
		"WINDOWS-1251": {0x98},
		"WINDOWS-1252": {0x81, 0x8d, 0x8f, 0x90, 0x9d},
		"WINDOWS-1254": {0x81, 0x8d, 0x8e, 0x8f, 0x90, 0x9d, 0x9e},
		"WINDOWS-1256": nil,
		"WINDOWS-1257": {0x81, 0x83, 0x88, 0x8a, 0x8c, 0x90, 0x98, 0x9a, 0x9c, 0x9f},
	}
	for name, want := range python {
		var got []byte
		for b := 0x80; b <= 0x9f; b++ {
			if codecs[name].undefined[b] {
				got = append(got, byte(b))
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: undefined % x, want % x", name, got, want)
		}
		if len(want) > 0 {
			if _, ok := decodeStrict([]byte{'a', want[0]}, name); ok {
				t.Errorf("%s: byte %#x decoded", name, want[0])
			}
		}
	}
}

func TestSniffMIME(t *testing.T) {
	tests := map[string]string{
		"":                     "application/x-empty",
		"<!DOCTYPE html><p>x":  "text/html",
		"\n\n  <HTML>\n<body>": "text/html",
		"<?xml version=\"1.0\"?><!DOCTYPE html><html>": "text/xml",
		"just some words":       "text/plain",
		"\x00\x01binary<html>":  "application/octet-stream",
		"<div><a  href=\"/x\">": "text/html",
	}
	for in, want := range tests {
		if got := SniffMIME([]byte(in)); got != want {
			t.Errorf("SniffMIME(%q) = %q, want %q", in, got, want)
		}
	}
}
