package pay

import "go.uber.org/zap"

// cause is a reason a response that looked signable was passed through.
type cause uint8

const (
	causeMalformed cause = iota
	causeOutputExists
	causeDuplicateKey
	causeNotString
	causeBadPrepayID
	causeTooLarge
	causeSignFailed
	numCauses
)

// causeMessages are the log messages, one per cause. None of them carries
// body bytes beyond what a JSON syntax error quotes (one character).
var causeMessages = [numCauses]string{
	causeMalformed:    "a JSON response is not valid JSON; passed through unsigned",
	causeOutputExists: "a response already has the output field; passed through unsigned",
	causeDuplicateKey: "a response has the prepay field more than once; passed through unsigned",
	causeNotString:    "a response's prepay field is not a string; passed through unsigned",
	causeBadPrepayID:  "a response's prepay field is not a prepay id (1-64 of A-Z a-z 0-9 _ -, after an optional prepay_id=); passed through unsigned",
	causeTooLarge:     "a JSON response is larger than max_body; passed through unsigned",
	causeSignFailed:   "computing paySign failed; passed through unsigned",
}

// passedThrough logs c the first time it happens (and at debug level every
// time).
func (h *Handler) passedThrough(c cause, fields ...zap.Field) {
	if h.once.First(uint8(c)) {
		h.logger.Warn(causeMessages[c], append(fields, zap.String("output_field", h.OutputField))...)
		return
	}
	h.logger.Debug(causeMessages[c], fields...)
}
