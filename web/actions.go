package web

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// The writes a signed-in user can make, shared by the JSON API and the
// pages' forms. Authorisation is checked here, next to the write.

// ProfileInput is an edit of a profile.
type ProfileInput struct {
	DisplayName string `json:"display_name"`
	DatasetRepo string `json:"dataset_repo"`
	Contact     string `json:"contact"`
	Description string `json:"description"`
}

var repoRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// mayWrite checks that a signed-in hotkey may write (post, edit its
// profile): it must be registered on the subnet (or be the subnet owner),
// so that a name like "Opentensor Foundation (official)" costs a
// registration and goes with a uid everybody can look up; and the client
// address must be within its write limit, so that many hotkeys behind one
// client cannot flood the site.
func (s *Site) mayWrite(ctx context.Context, sess Session, client string) error {
	if !sess.Owner {
		mg, err := s.metagraph(ctx)
		if err != nil {
			return err
		}
		registered := false
		for _, n := range mg.Neurons {
			registered = registered || n.Hotkey == sess.Hotkey
		}
		if !registered {
			return fmt.Errorf("%w: %s is not registered on subnet %d; only registered hotkeys may post or keep a profile", errForbid, sess.Hotkey, mg.Netuid)
		}
	}
	if !s.writeLim.allow(client, s.opts.Now()) {
		return fmt.Errorf("%w: at most %d writes per %s from one address", errLimited, s.opts.WriteLimit, s.opts.PostWindow)
	}
	return nil
}

// updateProfile changes hotkey's profile; only hotkey's own session may,
// and only while the hotkey is registered.
func (s *Site) updateProfile(ctx context.Context, sess Session, client, hotkey string, in ProfileInput) (Profile, error) {
	if sess.Hotkey != hotkey {
		return Profile{}, fmt.Errorf("%w: only %s may edit this profile", errForbid, hotkey)
	}
	if err := s.mayWrite(ctx, sess, client); err != nil {
		return Profile{}, err
	}
	var p Profile
	var err error
	p.Hotkey = hotkey
	if p.DisplayName, err = clean("display_name", in.DisplayName, 64); err != nil {
		return p, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if p.DatasetRepo, err = clean("dataset_repo", in.DatasetRepo, 128); err != nil {
		return p, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if p.DatasetRepo != "" && !repoRe.MatchString(p.DatasetRepo) {
		return p, fmt.Errorf("%w: dataset_repo must look like owner/name", errInvalid)
	}
	if p.Contact, err = clean("contact", in.Contact, 200); err != nil {
		return p, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if p.Description, err = clean("description", in.Description, 2000); err != nil {
		return p, fmt.Errorf("%w: %v", errInvalid, err)
	}
	p.UpdatedAt = s.opts.Now().UTC().Truncate(time.Millisecond)
	if err := s.db.putProfile(ctx, p); err != nil {
		return p, err
	}
	return p, nil
}

// PostInput is a new thread (with a title) or a reply.
type PostInput struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// addPost starts a thread (thread 0) or replies to one, within the
// author's and the client address's rate limits.
func (s *Site) addPost(ctx context.Context, sess Session, client string, thread int64, in PostInput) (Post, error) {
	title, err := clean("title", in.Title, 200)
	if err != nil {
		return Post{}, fmt.Errorf("%w: %v", errInvalid, err)
	}
	body, err := clean("body", in.Body, 10000)
	if err != nil {
		return Post{}, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if body == "" {
		return Post{}, fmt.Errorf("%w: body is empty", errInvalid)
	}
	if thread == 0 && title == "" {
		return Post{}, fmt.Errorf("%w: a thread needs a title", errInvalid)
	}
	if thread != 0 {
		title = ""
		if _, err := s.db.thread(ctx, thread); err != nil {
			return Post{}, err
		}
	}
	if err := s.mayWrite(ctx, sess, client); err != nil {
		return Post{}, err
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	n, err := s.db.postsSince(ctx, sess.Hotkey, now.Add(-s.opts.PostWindow))
	if err != nil {
		return Post{}, err
	}
	if n >= s.opts.PostLimit {
		return Post{}, fmt.Errorf("%w: at most %d posts per %s", errLimited, s.opts.PostLimit, s.opts.PostWindow)
	}
	return s.db.addPost(ctx, Post{ThreadID: thread, Author: sess.Hotkey, Title: title, Body: body, CreatedAt: now})
}

// hidePost hides (or shows again) a post; only the subnet owner may.
func (s *Site) hidePost(ctx context.Context, sess Session, id int64, hidden bool) error {
	if !sess.Owner {
		return fmt.Errorf("%w: only the subnet owner may hide posts", errForbid)
	}
	return s.db.setHidden(ctx, id, hidden, sess.Hotkey)
}
