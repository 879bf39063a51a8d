package sign

import (
	"errors"
	"strings"
	"testing"
)

const (
	goodSig  = "Fo6VgIIWpOz6IPnhXZw5nJnJrXdqcWb8mGgIvLAy+zS3H/fVQVUKaJ+VkNPyKXsFkw84EQlx1Ir0uk0Ihw7eTzpv6PWijCyqahgaKe6GiHp2qC3tfPtN8eiUEvbM0TnDEB5yIMlI9IVAmkHM7RE4W67qgm4+MuU1XV04OS/JcYlr5x5lwFqwbjJ/1sjxY7Bd3j/iuOsA6JCSQTWvDkcsojWb4mZ44x4YWCIskXnSNu06yxeqo6I1X6bshXn6S9VhOb1hO7mkFLsgGT+Q6FqnWiUQ8vYyB/lJ9eNcXdtKBoW1lcQnUm9rYvHfp26cEIYvBs4Pn8nh14NtGwV3hnlX3bBFtw=="
	goodAuth = AuthSchema + ` mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",signature="` + goodSig + `"`
)

var goodAuthParsed = Authorization{
	MchID:     "1900009191",
	NonceStr:  "593BEC0C930BF1AFEB40B4A08C8FB242",
	Timestamp: "1554208460",
	SerialNo:  "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
	Signature: goodSig,
}

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         string // an error containing this, or "" for goodAuthParsed
	}{
		{"WeChat's documented form", goodAuth, ""},
		{"other order", AuthSchema + ` signature="` + goodSig + `",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",timestamp="1554208460",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",mchid="1900009191"`, ""},
		{"empty", "", "schema"},
		{"schema only", AuthSchema, "schema"},
		{"schema and space", AuthSchema + " ", "no '='"},
		{"lower-case schema", strings.Replace(goodAuth, "WECHATPAY2", "wechatpay2", 1), "schema"},
		{"other schema", strings.Replace(goodAuth, "RSA2048", "RSA4096", 1), "schema"},
		{"two spaces", strings.Replace(goodAuth, " ", "  ", 1), "unknown parameter"},
		{"tab", strings.Replace(goodAuth, " ", "\t", 1), "schema"},
		{"leading space", " " + goodAuth, "schema"},
		{"space after comma", strings.Replace(goodAuth, `",nonce_str`, `", nonce_str`, 1), "unknown parameter"},
		{"trailing comma", goodAuth + ",", "no '='"},
		{"trailing space", goodAuth + " ", "separated"},
		{"missing mchid", strings.Replace(goodAuth, `mchid="1900009191",`, "", 1), "mchid is missing"},
		{"missing signature", strings.Replace(goodAuth, `,signature="`+goodSig+`"`, "", 1), "signature is missing"},
		{"duplicate nonce_str", strings.Replace(goodAuth, `mchid="1900009191"`, `nonce_str="x",mchid="1900009191"`, 1), "nonce_str appears twice"},
		{"unknown parameter", goodAuth + `,extra="1"`, "unknown parameter"},
		{"upper-case key", strings.Replace(goodAuth, "mchid=", "MCHID=", 1), "unknown parameter"},
		{"unquoted value", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid=1900009191`, 1), "not quoted"},
		{"single quotes", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid='1900009191'`, 1), "not quoted"},
		{"unclosed quote", AuthSchema + ` mchid="1900009191`, "no closing quote"},
		{"empty value", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid=""`, 1), "empty"},
		{"escaped quote", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid="19\"00"`, 1), "backslash"},
		{"backslash", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid="19\00"`, 1), "printable ASCII"},
		{"space in value", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid="1900 9191"`, 1), "printable ASCII"},
		{"non-ASCII value", strings.Replace(goodAuth, `mchid="1900009191"`, `mchid="商户"`, 1), "printable ASCII"},
		{"junk after a value", strings.Replace(goodAuth, `"1900009191"`, `"1900009191"x`, 1), "separated"},
		{"timestamp not decimal", strings.Replace(goodAuth, `"1554208460"`, `"0x5CA3"`, 1), "timestamp"},
		{"negative timestamp", strings.Replace(goodAuth, `"1554208460"`, `"-1554208460"`, 1), "timestamp"},
		{"huge timestamp", strings.Replace(goodAuth, `"1554208460"`, `"99999999999999999999"`, 1), "timestamp"},
		{"space around =", strings.Replace(goodAuth, `mchid="`, `mchid ="`, 1), "unknown parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAuthorization(tc.header)
			if tc.want == "" {
				if err != nil || got != goodAuthParsed {
					t.Fatalf("ParseAuthorization = %+v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			var ve *VerifyError
			if !errors.Is(err, ErrAuthorization) || !errors.As(err, &ve) {
				t.Errorf("err %v is not ErrAuthorization, a *VerifyError", err)
			}
			if got != (Authorization{}) {
				t.Errorf("a refused header returns %+v, want the zero Authorization", got)
			}
			if strings.Contains(err.Error(), goodSig[:16]) {
				t.Errorf("err %q quotes the signature", err)
			}
		})
	}
}

// TestParseAuthorizationReadsSigner: what RequestSigner writes, this reads.
func TestParseAuthorizationReadsSigner(t *testing.T) {
	h, err := testSigner(t).AppendAuthorizationAt(nil, "GET", "/v3/certificates", nil, 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthorization(string(h))
	if err != nil {
		t.Fatal(err)
	}
	if a.MchID != testMchID || a.NonceStr != "593BEC0C930BF1AFEB40B4A08C8FB242" || a.Timestamp != "1554208460" ||
		a.SerialNo != testMchSerial || !strings.HasSuffix(string(h), `signature="`+a.Signature+`"`) {
		t.Errorf("ParseAuthorization(%s) = %+v", h, a)
	}
}
