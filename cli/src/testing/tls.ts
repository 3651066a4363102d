import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Fixed TLS material for the fake coordinator, valid until 2126: a CA and a server
 * certificate for DNS:archfarm-coordinator signed by it, and the same from another CA (a
 * coordinator this CLI must not trust). Made once with openssl (EC P-256); test use only.
 */
export interface TlsFixture {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export const TEST_TLS: TlsFixture = {
  caPem: `-----BEGIN CERTIFICATE-----
MIIBnDCCAUOgAwIBAgIUAsYDlso26D6QBLyaAilubUdJBz8wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQYXJjaGZhcm0gdGVzdCBDQTAgFw0yNjExMjYxNzM2MzRaGA8y
MTI2MTEwMjE3MzYzNFowGzEZMBcGA1UEAwwQYXJjaGZhcm0gdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABJEPZwSfsyKVPWSCNAtUcd5k1GtmSEYTJ18G
c80ogL07YZNTEbGSZss5h2ElcEW7Cik74PZgZE0oR/7QIee9I92jYzBhMB0GA1Ud
DgQWBBTK61rt4xrXVXNWJ2zkHd+Y4HdlITAfBgNVHSMEGDAWgBTK61rt4xrXVXNW
J2zkHd+Y4HdlITAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggq
hkjOPQQDAgNHADBEAiB6Q++/gCaPtZmS0PCSi2lm1r1+jNctofmmgqF19CF+TgIg
Jm36urXqcSHKngsy1/x2UyPnVKM/90kHdv+lxtotmZw=
-----END CERTIFICATE-----
`,
  certPem: `-----BEGIN CERTIFICATE-----
MIIB0jCCAXmgAwIBAgIUVfBblL+nCQDI/6qUiWL1k8k05M4wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQYXJjaGZhcm0gdGVzdCBDQTAgFw0yNjExMjYxNzM2MzVaGA8y
MTI2MTEwMjE3MzYzNVowHzEdMBsGA1UEAwwUYXJjaGZhcm0tY29vcmRpbmF0b3Iw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARgavdn+gK2iszE7WcZG1RqJ/XhYRZV
CQIgitbrdSaHP5dCttehYbmWjTj7ohMngqZbAf3i8E12fsseLKYErtado4GUMIGR
MB8GA1UdEQQYMBaCFGFyY2hmYXJtLWNvb3JkaW5hdG9yMAkGA1UdEwQCMAAwDgYD
VR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0GA1UdDgQWBBSVsaR0
S70EfUAOgSUq9KGngGuu4TAfBgNVHSMEGDAWgBTK61rt4xrXVXNWJ2zkHd+Y4Hdl
ITAKBggqhkjOPQQDAgNHADBEAiAM0qT5N2O1MiYac6yW7krdTin7oO8VBo1YH17b
BUO5OwIgTZ/Rn+YEN/SCCBJIqHRF3S3g8RjcHMYDvNdHFLYkilI=
-----END CERTIFICATE-----
`,
  keyPem: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmruuNRqKCU5TlGUu
+NXdHUi49UY8nmBllaRdJHLggNmhRANCAARgavdn+gK2iszE7WcZG1RqJ/XhYRZV
CQIgitbrdSaHP5dCttehYbmWjTj7ohMngqZbAf3i8E12fsseLKYErtad
-----END PRIVATE KEY-----
`,
};

export const OTHER_TLS: TlsFixture = {
  caPem: `-----BEGIN CERTIFICATE-----
MIIBnzCCAUWgAwIBAgIUcRhp4GfMtTV39Jg3RVeANKJ5SmcwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRYXJjaGZhcm0gb3RoZXIgQ0EwIBcNMjYxMTI2MTczNjM1WhgP
MjEyNjExMDIxNzM2MzVaMBwxGjAYBgNVBAMMEWFyY2hmYXJtIG90aGVyIENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE22GqA9330NKb3Ofz09ucweeYhqdLqoPC
CFWH3MvX/5u52gGier043T1WF+lAirjmSNxgQ4wq/eLsSpIfFzfOC6NjMGEwHQYD
VR0OBBYEFD6A9CMQR+80OUFcevNpPQfAmgxDMB8GA1UdIwQYMBaAFD6A9CMQR+80
OUFcevNpPQfAmgxDMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMAoG
CCqGSM49BAMCA0gAMEUCIQCb/bI8ynj1+N4SUUo2JzpQEeAgvKPDV2UB76qK0Wkp
tAIgCqUlxpEUBySmkjs7BZrZAvP/RuQ5c0DENKUyZi7+EM8=
-----END CERTIFICATE-----
`,
  certPem: `-----BEGIN CERTIFICATE-----
MIIB1TCCAXqgAwIBAgIUH2acPP3L93fd7i8lRd2RfPRqgucwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRYXJjaGZhcm0gb3RoZXIgQ0EwIBcNMjYxMTI2MTczNjM1WhgP
MjEyNjExMDIxNzM2MzVaMB8xHTAbBgNVBAMMFGFyY2hmYXJtLWNvb3JkaW5hdG9y
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE61a8OkdC8oalLmlcTduj+4LIFclG
vZO0zTJpNVLBK1U3x72rS4A8Ivd0T/ThMEvWsaDyfjBBNRuE0O+cJz1gZaOBlDCB
kTAfBgNVHREEGDAWghRhcmNoZmFybS1jb29yZGluYXRvcjAJBgNVHRMEAjAAMA4G
A1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUJvYo
3oVq1XWhcVZ30oh2T73dT1YwHwYDVR0jBBgwFoAUPoD0IxBH7zQ5QVx682k9B8Ca
DEMwCgYIKoZIzj0EAwIDSQAwRgIhALIj1KFyQNMit2T5e3YAnP7EHSEq6nmG6oI5
+cU4NsAUAiEAp8Scc4zL5uPQSlQbnKJ0lrW5yYDNxNJwIUz3Wzo2GEU=
-----END CERTIFICATE-----
`,
  keyPem: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYQ6C8rc9qht0pYId
kUAv0exkxJT+ecBvvsii7BwsqoOhRANCAATrVrw6R0LyhqUuaVxN26P7gsgVyUa9
k7TNMmk1UsErVTfHvatLgDwi93RP9OEwS9axoPJ+MEE1G4TQ75wnPWBl
-----END PRIVATE KEY-----
`,
};

/** The API token the tests' default environment sends. */
export const TEST_TOKEN = 'af_test_token_0123456789';

const written = new Map<string, string>();

/** TEST_TLS's CA as a file (for ARCHFARM_CA_FILE), written once per process under the temp dir. */
export function testCaFile(pem = TEST_TLS.caPem): string {
  const known = written.get(pem);
  if (known !== undefined) return known;
  const file = path.join(tmpdir(), `archfarm-cli-test-ca-${createHash('sha256').update(pem).digest('hex').slice(0, 12)}.pem`);
  // Concurrent test processes write the same bytes; the rename keeps readers from seeing half.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, pem);
  renameSync(temp, file);
  written.set(pem, file);
  return file;
}
