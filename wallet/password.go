package wallet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// EnvPassword is the environment variable read for a keyfile password when
// no password file is given (for automation; prefer a file or a prompt).
const EnvPassword = "REFINE_WALLET_PASSWORD"

// ErrNoPassword: no password source was available (no file, no env
// variable, no terminal).
var ErrNoPassword = errors.New("no password: use --password-file, $" + EnvPassword + " or run on a terminal")

// PasswordOptions choose where a password comes from, in this order: File,
// the environment variable Env (default EnvPassword), then a prompt on the
// controlling terminal (/dev/tty, so it works while stdin is piped).
type PasswordOptions struct {
	File   string // first line of this file is the password
	Env    string // "" means EnvPassword; "-" disables the environment
	Prompt string // e.g. "Coldkey password: "
	// Confirm asks twice on a terminal (when choosing a new password).
	Confirm bool
}

// Password returns a PasswordFunc for the options. Nothing is read until the
// function is called, so a plaintext keyfile never prompts.
func Password(opts PasswordOptions) PasswordFunc {
	return func() (string, error) {
		if opts.File != "" {
			return readPasswordFile(opts.File)
		}
		env := opts.Env
		if env == "" {
			env = EnvPassword
		}
		if env != "-" {
			if v, ok := os.LookupEnv(env); ok {
				return v, nil
			}
		}
		return promptPassword(opts.Prompt, opts.Confirm)
	}
}

func readPasswordFile(path string) (string, error) {
	f, err := os.Open(ExpandHome(path))
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("password file %s: %w", path, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func promptPassword(prompt string, confirm bool) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", ErrNoPassword
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", ErrNoPassword
	}
	if prompt == "" {
		prompt = "Password: "
	}
	read := func(p string) (string, error) {
		fmt.Fprint(tty, p)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	pw, err := read(prompt)
	if err != nil {
		return "", err
	}
	if confirm {
		again, err := read("Retype the password: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", errors.New("passwords do not match")
		}
	}
	return pw, nil
}
