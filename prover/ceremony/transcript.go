package ceremony

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// fileRE is every contribution file name a ceremony directory may hold.
var fileRE = regexp.MustCompile(`^(phase1/[0-9]{4}\.bin|phase2/(chunk|final|eval-chunk|eval-final)/[0-9]{4}\.bin)$`)

// maxTranscript bounds what extract writes: a phase-1 contribution for a 2^20 domain is
// about 200 MB, and a ceremony has tens of them.
const maxTranscript = 64 << 30

// WriteTranscript writes the ceremony in dir as one deterministic tar file: ceremony.json,
// then each contribution file in the order ceremony.json lists them, every entry with mode
// 0644 and time zero, so that the same ceremony always gives the same bytes and SHA-256.
func WriteTranscript(dir string, w io.Writer) error {
	st, err := Load(dir)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	names := []string{"ceremony.json"}
	for _, c := range st.Contributions {
		names = append(names, c.File)
	}
	for _, name := range names {
		if err := addFile(tw, dir, name); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: fi.Size(), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("transcript: %w", err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("transcript: %s: %w", name, err)
	}
	return nil
}

// extract unpacks a transcript into dir, refusing anything but regular files with the names
// a ceremony holds, each once, within maxTranscript bytes in all.
func extract(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	seen := map[string]bool{}
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: transcript %s: %w", ErrInvalid, path, err)
		}
		switch {
		case hdr.Typeflag != tar.TypeReg:
			return fmt.Errorf("%w: transcript entry %q is not a regular file", ErrInvalid, hdr.Name)
		case hdr.Name != "ceremony.json" && !fileRE.MatchString(hdr.Name):
			return fmt.Errorf("%w: transcript entry %q is not part of a ceremony", ErrInvalid, hdr.Name)
		case seen[hdr.Name]:
			return fmt.Errorf("%w: transcript entry %q appears twice", ErrInvalid, hdr.Name)
		case hdr.Size < 0 || total+hdr.Size > maxTranscript:
			return fmt.Errorf("%w: transcript is larger than %d bytes", ErrInvalid, int64(maxTranscript))
		}
		seen[hdr.Name] = true
		total += hdr.Size
		out := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, io.LimitReader(tr, hdr.Size))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%w: transcript entry %q: %w", ErrInvalid, hdr.Name, err)
		}
	}
	if !seen["ceremony.json"] {
		return fmt.Errorf("%w: transcript has no ceremony.json", ErrInvalid)
	}
	return nil
}
