/**
 * Ed25519 keys for the SSH side: the node's host key, an impostor host key and the product's client key,
 * with the OpenSSH fingerprint form `SHA256:` + unpadded base64 of sha256(key blob) (= `ssh-keygen -lf`).
 */
import { createHash } from "node:crypto"
import ssh2 from "ssh2"
import type * as Ssh2 from "ssh2"

/** An ed25519 key pair in OpenSSH formats. */
export interface KeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` */
  readonly privateKey: string
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicKey: string
  /** `SHA256:…` */
  readonly fingerprint: string
}

/** Parses an OpenSSH public or private key; throws on garbage. */
const parse = (key: string): Ssh2.ParsedKey => {
  const parsed = ssh2.utils.parseKey(key)
  if (parsed instanceof Error) throw parsed
  return Array.isArray(parsed) ? (parsed[0] as Ssh2.ParsedKey) : parsed
}

/** `SHA256:` + unpadded base64 of sha256 over the public key blob. */
export const fingerprintOfBlob = (blob: Uint8Array): string =>
  `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`

/** Fingerprint of an OpenSSH public or private key. */
export const fingerprint = (key: string): string => fingerprintOfBlob(parse(key).getPublicSSH())

/** The `ssh-ed25519 AAAA… <comment>` line of a key. */
export const publicLine = (key: string, comment: string): string => {
  const parsed = parse(key)
  return `${parsed.type} ${parsed.getPublicSSH().toString("base64")} ${comment}`
}

/** A fresh ed25519 key pair (`utils.generateKeyPairSync`). */
export const generate = (comment: string): KeyPair => {
  // The public half is derived from the private key: ssh2 1.17's parser rejects a few of the
  // OpenSSH public lines its own keygen writes (about 1 in 150), never the private key.
  for (let attempt = 0; ; attempt++) {
    const { private: privateKey } = ssh2.utils.generateKeyPairSync("ed25519", { comment })
    try {
      const pair = fromPrivate(privateKey, comment)
      assertParses(pair.publicKey)
      return pair
    } catch (e) {
      if (attempt >= 20) throw e
    }
  }
}

/** Throws unless the public line parses back (what authorized_keys readers and clients do). */
const assertParses = (line: string): void => {
  parse(line)
}

/** Key pair from a stored OpenSSH private key. */
export const fromPrivate = (privateKey: string, comment: string): KeyPair => ({
  privateKey,
  publicKey: publicLine(privateKey, comment),
  fingerprint: fingerprint(privateKey)
})

/** Public key blobs of the usable lines of an `authorized_keys` file (options before the type are skipped). */
export const authorizedBlobs = (content: string): Array<{ readonly blob: Buffer; readonly key: Ssh2.ParsedKey }> => {
  const out: Array<{ blob: Buffer; key: Ssh2.ParsedKey }> = []
  for (const raw of content.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const m = /(?:^|\s)((?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-[\w@.-]+) [A-Za-z0-9+/=]+)/.exec(line)
    if (!m) continue
    const parsed = ssh2.utils.parseKey(m[1]!)
    if (parsed instanceof Error) continue
    const key = Array.isArray(parsed) ? (parsed[0] as Ssh2.ParsedKey) : parsed
    out.push({ blob: key.getPublicSSH(), key })
  }
  return out
}
