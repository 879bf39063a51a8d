package paykeys

import (
	"encoding/base64"
	"fmt"

	"go.uber.org/zap/zapcore"
)

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// stringify renders log fields for a search.
func stringify(fields []zapcore.Field) string {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	return fmt.Sprint(enc.Fields)
}
