package devchain

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/yuma"
	"github.com/datarefine/refine/sqldb"
)

const schema = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, time_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS balances (coldkey TEXT PRIMARY KEY, amount INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subnets (
	netuid INTEGER PRIMARY KEY, hyperparameters TEXT NOT NULL,
	epoch_index INTEGER NOT NULL, last_epoch_block INTEGER NOT NULL,
	regs_block INTEGER NOT NULL, regs_count INTEGER NOT NULL,
	pending_epoch_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS neurons (
	netuid INTEGER NOT NULL, uid INTEGER NOT NULL, hotkey TEXT NOT NULL, coldkey TEXT NOT NULL,
	block_at_registration INTEGER NOT NULL, last_update INTEGER NOT NULL,
	validator_permit INTEGER NOT NULL, active INTEGER NOT NULL,
	stake_weight INTEGER NOT NULL, consensus INTEGER NOT NULL, incentive INTEGER NOT NULL,
	dividends INTEGER NOT NULL, validator_trust INTEGER NOT NULL, emission INTEGER NOT NULL,
	weights TEXT NOT NULL, bonds TEXT NOT NULL,
	PRIMARY KEY (netuid, uid));
CREATE TABLE IF NOT EXISTS stakes (netuid INTEGER NOT NULL, hotkey TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (netuid, hotkey));
CREATE TABLE IF NOT EXISTS commitments (
	netuid INTEGER NOT NULL, hotkey TEXT NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL,
	PRIMARY KEY (netuid, hotkey));
-- events are the runtime events the devchain emits, as subtensor's System.Events
-- (see Event); extrinsic is the index of the call that deposited it (NULL: the
-- block's initialisation). For Commitments.Commitment, data is the commitment
-- that the event's account holds after it, which on subtensor is read from the
-- block's state.
CREATE TABLE IF NOT EXISTS events (
	block INTEGER NOT NULL, idx INTEGER NOT NULL, pallet TEXT NOT NULL, name TEXT NOT NULL,
	netuid INTEGER NOT NULL, account TEXT NOT NULL, data BLOB, extrinsic INTEGER,
	PRIMARY KEY (block, idx));
-- extrinsics are the calls each block included, in order (its body).
CREATE TABLE IF NOT EXISTS extrinsics (
	block INTEGER NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL UNIQUE, method TEXT NOT NULL,
	netuid INTEGER NOT NULL, signer TEXT NOT NULL,
	PRIMARY KEY (block, idx));
CREATE INDEX IF NOT EXISTS events_by_subnet ON events (netuid, pallet, name, block);
CREATE TABLE IF NOT EXISTS commitment_usage (
	netuid INTEGER NOT NULL, hotkey TEXT NOT NULL, epoch INTEGER NOT NULL, used INTEGER NOT NULL,
	PRIMARY KEY (netuid, hotkey));
CREATE TABLE IF NOT EXISTS weight_commits (
	netuid INTEGER NOT NULL, hotkey TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL,
	commit_epoch INTEGER NOT NULL, commit_block INTEGER NOT NULL,
	PRIMARY KEY (netuid, hotkey, seq));
CREATE TABLE IF NOT EXISTS ledger (
	netuid INTEGER NOT NULL, block INTEGER NOT NULL, epoch INTEGER NOT NULL, uid INTEGER NOT NULL,
	hotkey TEXT NOT NULL, incentive INTEGER NOT NULL, dividends INTEGER NOT NULL,
	server_emission INTEGER NOT NULL, validator_emission INTEGER NOT NULL,
	PRIMARY KEY (netuid, block, uid));
CREATE TABLE IF NOT EXISTS nonces (signer TEXT NOT NULL, nonce TEXT NOT NULL, time_ms INTEGER NOT NULL, PRIMARY KEY (signer, nonce));
CREATE INDEX IF NOT EXISTS nonces_time ON nonces (time_ms);
`

// neuron is one uid's state.
type neuron struct {
	Hotkey, Coldkey     string
	BlockAtRegistration uint64
	LastUpdate          uint64
	Permit, Active      bool
	StakeWeight         uint16
	Consensus           uint16
	Incentive           uint16
	Dividends           uint16
	Trust               uint16
	Emission            uint64
	Weights, Bonds      []yuma.Weight
}

type weightCommit struct {
	Seq         int64
	Hash        [32]byte
	Epoch       uint64
	CommitBlock uint64
}

type usage struct{ Epoch, Used uint64 }

// subnet is one subnet's state, mirrored from SQLite.
type subnet struct {
	Netuid         uint16
	HP             chain.Hyperparameters
	EpochIndex     uint64 // SubnetEpochIndex
	LastEpochBlock uint64 // LastEpochBlock: the block whose epoch slot was last consumed
	PendingEpochAt uint64 // PendingEpochAt: a triggered epoch's block, 0 if none
	RegsBlock      uint64
	RegsCount      uint64
	Neurons        []*neuron
	UIDs           map[string]uint16
	Stake          map[string]uint64
	Commitments    map[string]chain.Commitment
	Usage          map[string]usage
	WeightCommits  map[string][]weightCommit
}

// newSubnet is a subnet created at block now. Its epoch schedule starts as
// subtensor's init_new_network starts it (subnets/subnet.rs): LastEpochBlock
// = now − netuid mod tempo, which staggers the subnets' epochs.
func newSubnet(netuid uint16, hp chain.Hyperparameters, now uint64) *subnet {
	stagger := uint64(netuid) % max(uint64(hp.Tempo), 1)
	return &subnet{
		Netuid: netuid, HP: hp, LastEpochBlock: now - min(stagger, now),
		UIDs: map[string]uint16{}, Stake: map[string]uint64{},
		Commitments: map[string]chain.Commitment{}, Usage: map[string]usage{},
		WeightCommits: map[string][]weightCommit{},
	}
}

func openDB(ctx context.Context, path string) (*sql.DB, error) {
	// One connection (sqldb's default): the chain serializes its writes
	// anyway, and ":memory:" databases are per connection.
	db, err := sqldb.OpenSQLite(path, sqldb.SQLite{BusyTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// migrate brings a database written by an older devchain up to the schema.
func migrate(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('subnets') WHERE name = 'pending_epoch_at'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `ALTER TABLE subnets ADD COLUMN pending_epoch_at INTEGER NOT NULL DEFAULT 0`); err != nil {
			return err
		}
	}
	// Events before calls were included in blocks had no phase.
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'extrinsic'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `ALTER TABLE events ADD COLUMN extrinsic INTEGER`); err != nil {
			return err
		}
	}
	return nil
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and slices are marshalled
	}
	return string(b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func saveSubnet(ctx context.Context, x execer, s *subnet) error {
	_, err := x.ExecContext(ctx, `INSERT INTO subnets (netuid, hyperparameters, epoch_index, last_epoch_block,
		pending_epoch_at, regs_block, regs_count)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (netuid) DO UPDATE SET hyperparameters=excluded.hyperparameters,
		epoch_index=excluded.epoch_index, last_epoch_block=excluded.last_epoch_block,
		pending_epoch_at=excluded.pending_epoch_at, regs_block=excluded.regs_block, regs_count=excluded.regs_count`,
		s.Netuid, mustJSON(s.HP), s.EpochIndex, s.LastEpochBlock, s.PendingEpochAt, s.RegsBlock, s.RegsCount)
	if err != nil {
		return fmt.Errorf("save subnet %d: %w", s.Netuid, err)
	}
	return nil
}

func saveNeuron(ctx context.Context, x execer, netuid uint16, uid uint16, n *neuron) error {
	_, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO neurons (netuid, uid, hotkey, coldkey, block_at_registration,
		last_update, validator_permit, active, stake_weight, consensus, incentive, dividends, validator_trust,
		emission, weights, bonds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		netuid, uid, n.Hotkey, n.Coldkey, n.BlockAtRegistration, n.LastUpdate, b2i(n.Permit), b2i(n.Active),
		n.StakeWeight, n.Consensus, n.Incentive, n.Dividends, n.Trust, n.Emission,
		mustJSON(n.Weights), mustJSON(n.Bonds))
	if err != nil {
		return fmt.Errorf("save neuron %d/%d: %w", netuid, uid, err)
	}
	return nil
}

func saveStake(ctx context.Context, x execer, netuid uint16, hotkey string, amount uint64) error {
	_, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO stakes (netuid, hotkey, amount) VALUES (?, ?, ?)`,
		netuid, hotkey, int64(amount))
	if err != nil {
		return fmt.Errorf("save stake: %w", err)
	}
	return nil
}

func saveBalance(ctx context.Context, x execer, coldkey string, amount uint64) error {
	_, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO balances (coldkey, amount) VALUES (?, ?)`, coldkey, int64(amount))
	if err != nil {
		return fmt.Errorf("save balance: %w", err)
	}
	return nil
}

func setMeta(ctx context.Context, x execer, k, v string) error {
	if _, err := x.ExecContext(ctx, `INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`, k, v); err != nil {
		return fmt.Errorf("save meta %s: %w", k, err)
	}
	return nil
}

// load reads the whole state into memory.
func (c *Chain) load(ctx context.Context) error {
	row := c.db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'genesis'`)
	if err := row.Scan(&c.genesis); err == sql.ErrNoRows {
		return nil // fresh database
	} else if err != nil {
		return fmt.Errorf("read genesis: %w", err)
	}
	if err := c.db.QueryRowContext(ctx, `SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1`).
		Scan(&c.head.Number, &c.head.Hash); err != nil {
		return fmt.Errorf("read head block: %w", err)
	}
	q := func(query string, scan func(*sql.Rows) error) error {
		rows, err := c.db.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("load: %w", err)
			}
		}
		return rows.Err()
	}
	err := q(`SELECT coldkey, amount FROM balances`, func(r *sql.Rows) error {
		var k string
		var a int64
		err := r.Scan(&k, &a)
		c.st.balances[k] = uint64(a)
		return err
	})
	if err != nil {
		return err
	}
	err = q(`SELECT netuid, hyperparameters, epoch_index, last_epoch_block, pending_epoch_at, regs_block, regs_count FROM subnets`, func(r *sql.Rows) error {
		var netuid uint16
		var hp string
		s := newSubnet(0, chain.Hyperparameters{}, 0)
		if err := r.Scan(&netuid, &hp, &s.EpochIndex, &s.LastEpochBlock, &s.PendingEpochAt, &s.RegsBlock, &s.RegsCount); err != nil {
			return err
		}
		s.Netuid = netuid
		if err := json.Unmarshal([]byte(hp), &s.HP); err != nil {
			return fmt.Errorf("subnet %d hyperparameters: %w", netuid, err)
		}
		c.st.subnets[netuid] = s
		return nil
	})
	if err != nil {
		return err
	}
	err = q(`SELECT netuid, uid, hotkey, coldkey, block_at_registration, last_update, validator_permit, active,
		stake_weight, consensus, incentive, dividends, validator_trust, emission, weights, bonds
		FROM neurons ORDER BY netuid, uid`, func(r *sql.Rows) error {
		var netuid, uid uint16
		var n neuron
		var w, b string
		if err := r.Scan(&netuid, &uid, &n.Hotkey, &n.Coldkey, &n.BlockAtRegistration, &n.LastUpdate, &n.Permit,
			&n.Active, &n.StakeWeight, &n.Consensus, &n.Incentive, &n.Dividends, &n.Trust, &n.Emission, &w, &b); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(w), &n.Weights); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(b), &n.Bonds); err != nil {
			return err
		}
		s := c.st.subnets[netuid]
		if s == nil || int(uid) != len(s.Neurons) {
			return fmt.Errorf("neuron %d/%d out of order", netuid, uid)
		}
		s.Neurons = append(s.Neurons, &n)
		s.UIDs[n.Hotkey] = uid
		return nil
	})
	if err != nil {
		return err
	}
	err = q(`SELECT netuid, hotkey, amount FROM stakes`, func(r *sql.Rows) error {
		var netuid uint16
		var k string
		var a int64
		if err := r.Scan(&netuid, &k, &a); err != nil {
			return err
		}
		if s := c.st.subnets[netuid]; s != nil {
			s.Stake[k] = uint64(a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = q(`SELECT netuid, hotkey, block, data FROM commitments`, func(r *sql.Rows) error {
		var netuid uint16
		var cm chain.Commitment
		if err := r.Scan(&netuid, &cm.Hotkey, &cm.Block, &cm.Data); err != nil {
			return err
		}
		if s := c.st.subnets[netuid]; s != nil {
			s.Commitments[cm.Hotkey] = cm
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = q(`SELECT netuid, hotkey, epoch, used FROM commitment_usage`, func(r *sql.Rows) error {
		var netuid uint16
		var k string
		var u usage
		if err := r.Scan(&netuid, &k, &u.Epoch, &u.Used); err != nil {
			return err
		}
		if s := c.st.subnets[netuid]; s != nil {
			s.Usage[k] = u
		}
		return nil
	})
	if err != nil {
		return err
	}
	return q(`SELECT netuid, hotkey, seq, hash, commit_epoch, commit_block FROM weight_commits ORDER BY netuid, hotkey, seq`, func(r *sql.Rows) error {
		var netuid uint16
		var k string
		var wc weightCommit
		var h []byte
		if err := r.Scan(&netuid, &k, &wc.Seq, &h, &wc.Epoch, &wc.CommitBlock); err != nil {
			return err
		}
		copy(wc.Hash[:], h)
		if s := c.st.subnets[netuid]; s != nil {
			s.WeightCommits[k] = append(s.WeightCommits[k], wc)
		}
		return nil
	})
}
