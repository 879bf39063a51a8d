package sandbox

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// ticketJournal keeps the JS-API tickets the sandbox issued in Caddy's
// storage (the `storage` global option, the file system by default), under
// wechat_sandbox/<app_id>/tickets, so that signatures made with them still
// verify after the sandbox restarts or its state is dropped, as they would
// at WeChat. It is needed because wechat_jssdk keeps its ticket across
// restarts in that same storage: without the journal, a demo run twice
// would sign with a ticket its new sandbox never heard of.
//
// Tokens are not kept: a forgotten token answers 40001, which wechat_jssdk
// cures by fetching another, as it must at WeChat. A nil journal (no
// storage, as in unit tests) does nothing.
type ticketJournal struct {
	st     certmagic.Storage
	key    string
	logger *zap.Logger

	mu        sync.Mutex // serializes snapshots and writes, guards last
	last      string     // the current ticket when last saved
	saveCount int        // writes made, for tests
}

// journalTimeout bounds one storage operation.
const journalTimeout = 5 * time.Second

// newTicketJournal returns the journal of appID in the config's storage,
// or nil when the context has no config.
func newTicketJournal(ctx caddy.Context, appID string, logger *zap.Logger) *ticketJournal {
	st := config.ContextStorage(ctx)
	if st == nil {
		return nil
	}
	return &ticketJournal{st: st, key: "wechat_sandbox/" + appID + "/tickets", logger: logger}
}

// restore adds the journal's tickets still valid at now to s, the newest
// becoming the current one.
func (j *ticketJournal) restore(s *state, now time.Time) {
	if j == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	raw, err := j.st.Load(ctx, j.key)
	if err != nil {
		return // none yet, or unreadable: start afresh
	}
	var tickets map[string]time.Time
	if err := json.Unmarshal(raw, &tickets); err != nil {
		j.logger.Warn("ignoring an unreadable sandbox ticket journal", zap.String("key", j.key))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, exp := range tickets {
		if !now.Before(exp) || !isCredential(t, ticketLen) {
			continue
		}
		s.tickets[t] = exp
		if s.currentTicket == "" || exp.After(s.tickets[s.currentTicket]) {
			s.currentTicket = t
		}
	}
	j.mu.Lock()
	j.last = s.currentTicket
	j.mu.Unlock()
}

// saveIfNew writes s's tickets when current is a ticket the journal has
// not saved yet: a ticket is issued once per lifetime, so writes are rare.
func (j *ticketJournal) saveIfNew(s *state, current string) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if current == j.last {
		return
	}
	s.mu.Lock()
	raw, err := json.Marshal(s.tickets)
	s.mu.Unlock()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
		defer cancel()
		err = j.st.Store(ctx, j.key, raw)
	}
	if err != nil {
		j.logger.Warn("cannot keep the sandbox's tickets; a restarted sandbox will not verify signatures made with them",
			zap.Error(err))
		return
	}
	j.last = current
	j.saveCount++
}

// clear forgets the journal, for /sandbox/reset.
func (j *ticketJournal) clear() {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	_ = j.st.Delete(ctx, j.key)
	j.last = ""
}
