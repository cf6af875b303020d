/**
 * OpenSSH-style host-key fingerprints (transport-trust.md §3.2): `SHA256:` + unpadded base64 of
 * sha256(raw key blob), exactly what `ssh-keygen -lf` prints.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"

/** The fingerprint of a raw SSH public key blob, as `ssh-keygen -lf` prints it. */
export const fingerprintOf = (keyBlob: Uint8Array): string =>
  "SHA256:" + createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")

/**
 * Normalizes a pin written as `SHA256:<b64>`, bare base64 (padded or not), or a whole `ssh-keygen -lf` line
 * (`256 SHA256:<b64> root@pve (ED25519)`) to `SHA256:<unpadded b64>`; the digest must be 32 bytes.
 */
export const normalizeFingerprint = (input: string): Either.Either<string, string> => {
  const trimmed = input.trim()
  const token = trimmed.split(/\s+/).find((t) => t.startsWith("SHA256:")) ?? trimmed
  const b64 = token.startsWith("SHA256:") ? token.slice("SHA256:".length) : token
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(b64)) {
    return Either.left(
      `expected SHA256:<43 base64 characters>, bare base64, or an \`ssh-keygen -lf\` line, got ${JSON.stringify(input)}`
    )
  }
  const bytes = Buffer.from(b64, "base64")
  if (bytes.length !== 32) return Either.left(`the digest must be 32 bytes, got ${bytes.length}`)
  return Either.right("SHA256:" + bytes.toString("base64").replace(/=+$/, ""))
}

/** Host-key algorithms accepted in `SSH_HOST_KEY_ALGORITHM`. */
export const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa"
] as const

/** One accepted host-key algorithm name. */
export type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number]

/** The negotiable algorithm list for a pinned key type: one RSA key may be used with any of the RSA signatures. */
export const negotiableAlgorithms = (algorithm: HostKeyAlgorithm): Array<HostKeyAlgorithm> =>
  algorithm === "ssh-rsa" || algorithm === "rsa-sha2-256" || algorithm === "rsa-sha2-512"
    ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    : [algorithm]

/** Reads the key type name from a raw SSH public key blob (its first length-prefixed string). */
export const keyTypeOf = (keyBlob: Uint8Array): string => {
  const buf = Buffer.from(keyBlob)
  if (buf.length < 4) return "unknown"
  const len = buf.readUInt32BE(0)
  return len > 0 && len < 64 && buf.length >= 4 + len ? buf.subarray(4, 4 + len).toString("latin1") : "unknown"
}
