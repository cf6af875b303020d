/**
 * Byte helpers shared by the backup modules: sha256 in hex, gzip, and the binary test of
 * backups-audit.md §1.2 (a NUL byte in the first 8192 bytes).
 */
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as Zlib from "node:zlib"

/** Hex sha256 of the bytes (64 lower-case hex digits). */
export const sha256 = (bytes: Uint8Array | string): string =>
  Crypto.createHash("sha256").update(bytes).digest("hex")

/** The sha256 of the empty byte string. */
export const EMPTY_SHA256 = sha256(new Uint8Array(0))

/** The gzip level of every payload (6: most of level 9's ratio at a fraction of its time). */
const GZIP_LEVEL = 6

/** gzip with a fixed level, so the same payload always compresses to the same bytes. */
export const gzip = (bytes: Uint8Array): Uint8Array => new Uint8Array(Zlib.gzipSync(bytes, { level: GZIP_LEVEL }))

/** `gzip` on libuv's thread pool: byte for byte the same output; dies only if zlib itself fails. */
export const gzipOffThread = (bytes: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.async<Uint8Array>((resume) => {
    Zlib.gzip(bytes, { level: GZIP_LEVEL }, (error, out) => resume(error === null ? Effect.succeed(new Uint8Array(out)) : Effect.die(error)))
  })

/** Inflates a gzip stream; throws on a corrupt stream (callers map it to a corruption report). */
export const gunzip = (bytes: Uint8Array): Uint8Array => new Uint8Array(Zlib.gunzipSync(bytes))

/** How many leading bytes are inspected for the binary test. */
export const BINARY_PROBE_BYTES = 8192

/** True when a NUL byte occurs in the first 8192 bytes. */
export const hasNul = (bytes: Uint8Array): boolean => {
  const n = Math.min(bytes.length, BINARY_PROBE_BYTES)
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true
  return false
}

/** True when either side is binary (backups-audit.md §1.2 rule 3). */
export const isBinaryPair = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  (a !== null && hasNul(a)) || (b !== null && hasNul(b))

/** Byte-for-byte equality. */
export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(a, b) === 0
