// Fixed TLS material for tests/unit/tls_test.cc and tests/fuzz/tls_fuzz.cc. TEST-ONLY KEYS:
// they are public (here, in the repository) and protect nothing; never use them elsewhere.
// P-256 EC keys; every certificate is valid for 36500 days from 2026-12-05 (when they were
// made) except n4's, which was valid in January 2020 only. Made with the openssl CLI
// (OpenSSL 3.0), in bash:
//   key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1; }
//   ca() { key $1.key; openssl req -x509 -new -key $1.key -out $1.crt -days 36500 -subj /CN=$1; }
//   cert() {  # NAME CA SAN
//     key $1.key; openssl req -new -key $1.key -out $1.csr -subj /CN=$1
//     sign=(-CA $2.crt -CAkey $2.key -CAcreateserial -days 36500)
//     openssl x509 -req -in $1.csr "${sign[@]}" -out $1.crt -extfile <(echo subjectAltName=$3)
//   }
//   ca ca; ca other
//   cert n1 ca DNS:n1,DNS:localhost,IP:127.0.0.1
//   cert n2 ca DNS:n2,URI:shoal:node:n2
//   cert n3 other DNS:n3
//   # n4, expired: `openssl ca` takes explicit dates (as in tests/cluster/tls_test.sh)
//   key n4.key; openssl req -new -key n4.key -out n4.csr -subj /CN=n4
//   touch index.txt; echo 01 >serial
//   cnf=('[ca]' 'default_ca = c' '[c]' 'database = index.txt' 'new_certs_dir = .')
//   cnf+=('serial = serial' 'default_md = sha256' 'policy = p' '[p]' 'commonName = supplied')
//   printf '%s\n' "${cnf[@]}" >ca.cnf
//   echo subjectAltName=DNS:n4 >n4.ext
//   d=(-startdate 20200101000000Z -enddate 20200201000000Z -extfile n4.ext)
//   openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in n4.csr -out n4.crt "${d[@]}"
//   for c in ca other n1 n2 n3 n4; do openssl x509 -in $c.crt -out $c.pem; done  # PEM only
#pragma once

namespace shoal::test_certs {

// The cluster CA (CN=ca).
constexpr const char* kCaCert = R"(-----BEGIN CERTIFICATE-----
MIIBcTCCARegAwIBAgIUcQB37ui1b7WjKUpDnDm9ykJX1wgwCgYIKoZIzj0EAwIw
DTELMAkGA1UEAwwCY2EwIBcNMjYxMjA1MDczNzI0WhgPMjEyNjExMTEwNzM3MjRa
MA0xCzAJBgNVBAMMAmNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWuXH5Jo9
UAA9QuWK2XHVX9wywI2i64sNBu/rclkKof075UyqkJ53YTveah+ohAoibvCKXWIQ
oHVVu3/SjfgRD6NTMFEwHQYDVR0OBBYEFAlEUN6u2JTbPLq2UIqEFIns5qkHMB8G
A1UdIwQYMBaAFAlEUN6u2JTbPLq2UIqEFIns5qkHMA8GA1UdEwEB/wQFMAMBAf8w
CgYIKoZIzj0EAwIDSAAwRQIgKMf3sBzQQNzzFMgn+5g34wHcbFo01aJV9yhzlFDg
kc8CIQDSEddTv7Wl+adP9FW86ybNvNqmtCYLxFzNnb049MioQA==
-----END CERTIFICATE-----
)";

// Another CA (CN=other), which signed n3 only.
constexpr const char* kOtherCaCert = R"(-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUYUZJPf9YcsPzASkNfma802wAmbkwCgYIKoZIzj0EAwIw
EDEOMAwGA1UEAwwFb3RoZXIwIBcNMjYxMjA1MDczNzI0WhgPMjEyNjExMTEwNzM3
MjRaMBAxDjAMBgNVBAMMBW90aGVyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
U43qaU/wIy0zGVHgk+JYUyPV3+cV6CpLKtCW2m+IxDywwFeS8bBlRhaBsats/jAM
PMFwTYn424QWiVoOOMQliaNTMFEwHQYDVR0OBBYEFMSGXM0YCQcFr56+HkPm4N0c
F2BpMB8GA1UdIwQYMBaAFMSGXM0YCQcFr56+HkPm4N0cF2BpMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgJCg84PA++WcGmu0DMMnYA7aFD5v5/cGk
ngqUimS8j74CIQC+nsoe9emW+NqVtk+j9x6DYj9ahJIfPxiHSz0VDhZ3Hg==
-----END CERTIFICATE-----
)";

// n1, signed by ca: DNS:n1, DNS:localhost, IP:127.0.0.1.
constexpr const char* kN1Cert = R"(-----BEGIN CERTIFICATE-----
MIIBgDCCASagAwIBAgIUYwUJXeegAzqlJ4yLv+MedtczRH0wCgYIKoZIzj0EAwIw
DTELMAkGA1UEAwwCY2EwIBcNMjYxMjA1MDczNzI0WhgPMjEyNjExMTEwNzM3MjRa
MA0xCzAJBgNVBAMMAm4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE23HoWQgO
2nQDD0VJktjkXJ8+tHtoaaHRPHJYBAgAsPP22RPsQj5UMuOzLLSi6cDx3IaoXik7
zH30wPsw/jKO2qNiMGAwHgYDVR0RBBcwFYICbjGCCWxvY2FsaG9zdIcEfwAAATAd
BgNVHQ4EFgQUaK4UKe8qrNsm4mnEVw7UYHOVzn0wHwYDVR0jBBgwFoAUCURQ3q7Y
lNs8urZQioQUiezmqQcwCgYIKoZIzj0EAwIDSAAwRQIhANFoiQCcdrXK4jMJ+Di5
3PMwzSlP+L9QOrR5KlJFg/DLAiAjnA9fF1/h4nDmSs4pd84cSx7ku+8o/GKZrB17
/WbJbw==
-----END CERTIFICATE-----
)";
constexpr const char* kN1Key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgC0QDimtXOpH4q/Os
PCL1RTvsrBENC5InAjX2n8CFqVOhRANCAATbcehZCA7adAMPRUmS2ORcnz60e2hp
odE8clgECACw8/bZE+xCPlQy47MstKLpwPHchqheKTvMffTA+zD+Mo7a
-----END PRIVATE KEY-----
)";

// n2, signed by ca: DNS:n2, URI:shoal:node:n2.
constexpr const char* kN2Cert = R"(-----BEGIN CERTIFICATE-----
MIIBfjCCASSgAwIBAgIUYwUJXeegAzqlJ4yLv+MedtczRH4wCgYIKoZIzj0EAwIw
DTELMAkGA1UEAwwCY2EwIBcNMjYxMjA1MDczNzI0WhgPMjEyNjExMTEwNzM3MjRa
MA0xCzAJBgNVBAMMAm4yMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEFcuz9cQX
fWj9gJ+I1G/oH9vz186F0RboXmrNQ73oJu5u+PhvTikO1JaF05IoVElpiPG21cmX
TXcNba7QtgHTYaNgMF4wHAYDVR0RBBUwE4ICbjKGDXNob2FsOm5vZGU6bjIwHQYD
VR0OBBYEFATihLmBzWEC5Blc0ZH6WqY4wsrQMB8GA1UdIwQYMBaAFAlEUN6u2JTb
PLq2UIqEFIns5qkHMAoGCCqGSM49BAMCA0gAMEUCIQD+8a4D2cd+dpWGhRTOBqdW
dBSG5Owz3CSNV6/yvT7bpgIgYO79c2BUCCwVdVJWoNeZSu3Qrm6L6iK2ip+wKack
7pc=
-----END CERTIFICATE-----
)";
constexpr const char* kN2Key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXR83Jh91mIiItWmA
1rMhl9TAaL4wc9HJ0n93ZaQ/Y/ShRANCAAQVy7P1xBd9aP2An4jUb+gf2/PXzoXR
Fuheas1Dvegm7m74+G9OKQ7UloXTkihUSWmI8bbVyZdNdw1trtC2AdNh
-----END PRIVATE KEY-----
)";

// n3, signed by other: DNS:n3.
constexpr const char* kN3Cert = R"(-----BEGIN CERTIFICATE-----
MIIBcjCCARigAwIBAgIUF0LP//F62xRa/VxYzpmIc/Se/kUwCgYIKoZIzj0EAwIw
EDEOMAwGA1UEAwwFb3RoZXIwIBcNMjYxMjA1MDczNzI0WhgPMjEyNjExMTEwNzM3
MjRaMA0xCzAJBgNVBAMMAm4zMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEl4EP
dz8WEW2O/FviFxz7Fdp3h7Dt6BXeoSb+zvZ5FALTtsorfIzssonGM+obdZ6VnxWZ
LXXxYXE3ahYPQ6fFbKNRME8wDQYDVR0RBAYwBIICbjMwHQYDVR0OBBYEFEAmzHBY
Ysbmj11Vub9wBcS4XLb5MB8GA1UdIwQYMBaAFMSGXM0YCQcFr56+HkPm4N0cF2Bp
MAoGCCqGSM49BAMCA0gAMEUCIQCHGtlgqjUawAaqX0CMyEfS523+6qS34HrwYklI
rLl1vgIgSp5lm+kOpJ8nSLjIlQAdABnyCYwhV8cWzoCjAwVknec=
-----END CERTIFICATE-----
)";
constexpr const char* kN3Key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8AIusH1PLu9kbJfw
UQrXoRhk7cxIcOvUD4YuYt0H1DqhRANCAASXgQ93PxYRbY78W+IXHPsV2neHsO3o
Fd6hJv7O9nkUAtO2yit8jOyyicYz6ht1npWfFZktdfFhcTdqFg9Dp8Vs
-----END PRIVATE KEY-----
)";

// n4, signed by ca, valid 2020-01-01 to 2020-02-01 only (expired): DNS:n4.
constexpr const char* kN4Cert = R"(-----BEGIN CERTIFICATE-----
MIIBWTCCAQCgAwIBAgIBATAKBggqhkjOPQQDAjANMQswCQYDVQQDDAJjYTAeFw0y
MDAxMDEwMDAwMDBaFw0yMDAyMDEwMDAwMDBaMA0xCzAJBgNVBAMMAm40MFkwEwYH
KoZIzj0CAQYIKoZIzj0DAQcDQgAEXIlPxG3Lty8LMm3Rd2WFOWJZRvC5tDYnK0ye
x7YJWVZeXyM+NZ1+Lzw765egoHrpKcAEBlJc+/byKRfPBbZTx6NRME8wDQYDVR0R
BAYwBIICbjQwHQYDVR0OBBYEFKRker7MxE2sGzXI4dot7UsSCJ6FMB8GA1UdIwQY
MBaAFAlEUN6u2JTbPLq2UIqEFIns5qkHMAoGCCqGSM49BAMCA0cAMEQCIAu+v+3b
Q5zqCVBY9KfiZhiAL0QCt/F25O3+QOXeEHMxAiBTb9dwTgsVsdYUv4xz+H06ZmFL
zFefDVXQEfUNI6Cm+Q==
-----END CERTIFICATE-----
)";
constexpr const char* kN4Key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4SBj4S2FiwWv3nbX
faVEZeOBGq2x55sef9S6Hf4eU7ChRANCAARciU/Ebcu3LwsybdF3ZYU5YllG8Lm0
NicrTJ7HtglZVl5fIz41nX4vPDvrl6CgeukpwAQGUlz79vIpF88FtlPH
-----END PRIVATE KEY-----
)";

}  // namespace shoal::test_certs
