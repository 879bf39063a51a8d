package sign

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParsePrivateKeyPEM returns the RSA private key in data, the merchant's
// apiclient_key.pem: a "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY"
// (PKCS#1) PEM block. Blocks of other types before it (a certificate,
// comments) are skipped. It refuses encrypted keys, keys that are not RSA
// and keys shorter than MinRSABits.
//
// Its errors say what is wrong in fixed words and never include the input or
// the parser's messages, which could quote bytes of the key.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, err := privateKeyBlock(data)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the PRIVATE KEY block is not a valid PKCS#8 private key")
		}
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the RSA PRIVATE KEY block is not a valid PKCS#1 RSA private key")
		}
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is %s, not RSA: WeChat Pay API v3 signs with the merchant's RSA key (apiclient_key.pem)", keyKind(key))
	}
	if bits := rsaKey.N.BitLen(); bits < MinRSABits {
		return nil, fmt.Errorf("the RSA key has %d bits, fewer than %d", bits, MinRSABits)
	}
	rsaKey.Precompute()
	return rsaKey, nil
}

// privateKeyBlock finds the first PEM block holding a private key.
func privateKeyBlock(data []byte) (*pem.Block, error) {
	sawPEM := false
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		switch {
		case block.Type == "PRIVATE KEY" || block.Type == "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errors.New("the private key is encrypted; give the unencrypted apiclient_key.pem")
			}
			return block, nil
		case block.Type == "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; give the unencrypted apiclient_key.pem")
		case block.Type == "EC PRIVATE KEY":
			return nil, errors.New("the key is EC, not RSA: WeChat Pay API v3 signs with the merchant's RSA key (apiclient_key.pem)")
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			// block types are short fixed labels, safe to name
			return nil, fmt.Errorf("unsupported PEM block %q; want PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)", block.Type)
		}
	}
	if !sawPEM {
		return nil, errors.New("no PEM data found; want the merchant's apiclient_key.pem")
	}
	return nil, errors.New("no PRIVATE KEY or RSA PRIVATE KEY block found (a certificate or public key is not enough)")
}

// keyKind names the algorithm of a parsed key for error messages.
func keyKind(key any) string {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		return "EC"
	case ed25519.PrivateKey:
		return "Ed25519"
	default:
		return fmt.Sprintf("of type %T", key)
	}
}

// ParsePublicKeyPEM returns the RSA public key in data, with which WeChat Pay
// signs: the merchant's pub_key.pem in public-key mode (a "PUBLIC KEY",
// PKIX, block; "RSA PUBLIC KEY", PKCS#1, is read too) or a platform
// certificate ("CERTIFICATE"), whose key is taken without checking its
// dates. The first such block counts; others before it are skipped. It
// refuses keys that are not RSA or are shorter than MinRSABits. Like
// ParsePrivateKeyPEM, its errors never quote the input.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	sawPEM := false
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		var key any
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, errors.New("the PUBLIC KEY block is not a valid PKIX public key")
			}
			key = k
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, errors.New("the RSA PUBLIC KEY block is not a valid PKCS#1 public key")
			}
			key = k
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, errors.New("the CERTIFICATE block is not a valid X.509 certificate")
			}
			key = cert.PublicKey
		default:
			continue
		}
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("the public key is not RSA: WeChat Pay signs with RSA")
		}
		if err := checkPlatformKey(pub); err != nil {
			return nil, err
		}
		return pub, nil
	}
	if !sawPEM {
		return nil, errors.New("no PEM data found; want WeChat Pay's pub_key.pem or platform certificate")
	}
	return nil, errors.New("no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block found")
}
