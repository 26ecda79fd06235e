package chain

import (
	"errors"
	"fmt"
)

// InvalidTransaction is a transaction the chain refused while validating it,
// before inclusion: subtensor's transaction pool answers 1010 "Invalid
// Transaction" with InvalidTransaction::Custom(code) from its
// SubtensorTransactionExtension (pallets/subtensor/src/extensions/subtensor.rs,
// whose guards run the weights, rate-limit and coldkey-swap checks). Nothing
// was included, no fee was paid and the nonce was not used. The devchain
// refuses the same calls at submission with the same codes. It unwraps to
// the code's sentinel (CustomErrors), so callers test it with errors.Is and
// read the code with errors.As where one sentinel has several causes (17:
// a reveal both too early and too late).
type InvalidTransaction struct {
	Code   uint8
	Name   string // subtensor's CustomTransactionError variant
	Detail string // what the chain said about this transaction
	err    error
}

// NewInvalidTransaction returns the refusal with custom code (unknown codes
// keep the code and unwrap to nothing).
func NewInvalidTransaction(code uint8, detail string) *InvalidTransaction {
	e := &InvalidTransaction{Code: code, Name: fmt.Sprintf("Custom(%d)", code), Detail: detail}
	if ce, ok := customErrorByCode[code]; ok {
		e.Name, e.err = ce.Name, ce.Err
	}
	return e
}

func (e *InvalidTransaction) Error() string {
	s := fmt.Sprintf("invalid transaction: custom error %d (%s)", e.Code, e.Name)
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *InvalidTransaction) Unwrap() error { return e.err }

// TxCode returns the custom code of an InvalidTransaction err wraps.
func TxCode(err error) (uint8, bool) {
	var it *InvalidTransaction
	if errors.As(err, &it) {
		return it.Code, true
	}
	return 0, false
}

// CustomError is one code of subtensor's CustomTransactionError.
type CustomError struct {
	Code uint8
	Name string
	Err  error
}

// Custom codes the subnet's calls meet (the others belong to calls it does
// not make).
const (
	TxStakeAmountTooLow           = 1  // weights calls below the stake threshold
	TxRateLimitExceeded           = 6  // set_weights / commit_weights too soon
	TxCommitNotFound              = 16 // reveal of a hash not in the commit queue
	TxCommitBlockNotInRevealRange = 17 // reveal too early, or of an expired commit still queued
)

// CustomErrors is subtensor's CustomTransactionError (common/src/
// transaction_error.rs at spec 425; codes 0-24 have not changed since spec
// 385, 25 is NonAssociatedColdKey since spec 396, 26 and 27 were added in
// spec 407) with the sentinel each maps to. The subtensor client maps pool
// refusals with it, the devchain refuses with it.
var CustomErrors = []CustomError{
	{0, "ColdkeyInSwapSchedule", ErrColdkeySwap},
	{1, "StakeAmountTooLow", ErrNotEnoughStake}, // AmountTooLow and NotEnoughStakeToSetWeights
	{2, "BalanceTooLow", ErrInsufficientBalance},
	{3, "SubnetNotExists", ErrSubnetNotFound},
	{4, "HotkeyAccountDoesntExist", ErrNotRegistered},
	{5, "NotEnoughStakeToWithdraw", ErrNotEnoughStakeToWithdraw},
	{6, "RateLimitExceeded", ErrRateLimited}, // CommittingWeightsTooFast, SettingWeightsTooFast, NetworkTxRateLimitExceeded
	{7, "InsufficientLiquidity", ErrInsufficientLiquidity},
	{8, "SlippageTooHigh", ErrSlippageTooHigh},
	{9, "TransferDisallowed", ErrTransferDisallowed},
	{10, "HotKeyNotRegisteredInNetwork", ErrNotRegistered},
	{11, "InvalidIpAddress", ErrInvalidArgument},
	{12, "ServingRateLimitExceeded", ErrRateLimited},
	{13, "InvalidPort", ErrInvalidArgument},
	{14, "ZeroMaxAmount", ErrInvalidArgument},
	{15, "InvalidRevealRound", ErrInvalidRevealRound},
	{16, "CommitNotFound", ErrNoWeightsCommit},
	{17, "CommitBlockNotInRevealRange", ErrRevealTooEarly},
	{18, "InputLengthsUnequal", ErrLengthMismatch},
	{19, "UidNotFound", ErrNotRegistered}, // HotKeyNotRegisteredInSubNet
	{20, "EvmKeyAssociateRateLimitExceeded", ErrRateLimited},
	{21, "ColdkeySwapDisputed", ErrColdkeySwap},
	{22, "InvalidRealAccount", ErrInvalidArgument},
	{23, "FailedShieldedTxParsing", ErrInvalidArgument},
	{24, "InvalidShieldedTxPubKeyHash", ErrInvalidArgument},
	{25, "NonAssociatedColdKey", ErrNotOwner},
	{26, "DelegateTakeTooLow", ErrInvalidArgument},
	{27, "DelegateTakeTooHigh", ErrInvalidArgument},
	{255, "BadRequest", ErrInvalidArgument}, // every other pallet error a guard returns
}

var customErrorByCode = func() map[uint8]CustomError {
	m := make(map[uint8]CustomError, len(CustomErrors))
	for _, ce := range CustomErrors {
		m[ce.Code] = ce
	}
	return m
}()
