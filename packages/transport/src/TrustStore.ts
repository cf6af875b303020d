/**
 * The trust-on-first-use store of API certificates (`PVE_API_KNOWN_CERTS_PATH`, transport-trust.md §1):
 * JSON keyed by `host:port`, written atomically. A store that exists but cannot be read or parsed fails
 * closed with `TlsTrustUnavailable`; it is never treated as empty or rewritten from scratch.
 */
import { TlsTrustUnavailable } from "@homelab-mcp/core/Errors"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as PinnedTls from "./PinnedTls.js"

/** One trusted certificate. */
export interface Entry {
  /** `SHA256:<unpadded base64>` of the leaf. */
  readonly fingerprint: string
  /** When it was first seen (ISO 8601). */
  readonly firstSeen: string
}

/** The whole store. */
export type Store = Readonly<Record<string, Entry>>

const failClosed = (file: string, detail: string) =>
  new TlsTrustUnavailable({
    reason: `the known certificates store ${file} ${detail}; it is not rewritten automatically (fix or remove it deliberately)`
  })

const parse = (file: string, text: string): Either.Either<Store, TlsTrustUnavailable> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return Either.left(failClosed(file, `is not valid JSON (${(e as Error).message})`))
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return Either.left(failClosed(file, "is not a JSON object keyed by host:port"))
  }
  const out: Record<string, Entry> = {}
  for (const [key, entry] of Object.entries(value)) {
    const fp = (entry as { fingerprint?: unknown } | null)?.fingerprint
    if (typeof fp !== "string" || Either.isLeft(PinnedTls.parsePin(fp))) {
      return Either.left(failClosed(file, `has an invalid entry for ${key}`))
    }
    const firstSeen = (entry as { firstSeen?: unknown }).firstSeen
    out[key] = { fingerprint: fp, firstSeen: typeof firstSeen === "string" ? firstSeen : "" }
  }
  return Either.right(out)
}

/** Reads the store; a missing file is an empty store, anything unreadable fails closed. */
export const read = (file: string): Effect.Effect<Store, TlsTrustUnavailable> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) => e as NodeJS.ErrnoException
  }).pipe(
    Effect.map((text) => parse(file, text)),
    Effect.catchAll((e) =>
      Effect.succeed(e.code === "ENOENT" ? Either.right({}) : Either.left(failClosed(file, `cannot be read (${e.code ?? e.message})`)))
    ),
    Effect.flatMap((either) => either)
  )

/** Looks up the trusted fingerprint of `host:port`. */
export const lookup = (file: string, hostPort: string): Effect.Effect<Entry | undefined, TlsTrustUnavailable> =>
  Effect.map(read(file), (store) => store[hostPort])

/** Records a fingerprint for `host:port` (re-reading the store first, keeping other entries), atomically. */
export const record = (file: string, hostPort: string, fingerprint: string, now: Date): Effect.Effect<Entry, TlsTrustUnavailable> =>
  Effect.gen(function* () {
    const store = yield* read(file)
    const existing = store[hostPort]
    if (existing !== undefined) return existing
    const entry: Entry = { fingerprint, firstSeen: now.toISOString() }
    const next = { ...store, [hostPort]: entry }
    yield* Effect.tryPromise({
      try: async () => {
        await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
        const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
        await fs.writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
        const fh = await fs.open(tmp, "r")
        try {
          await fh.sync()
        } finally {
          await fh.close()
        }
        await fs.rename(tmp, file)
      },
      catch: (e) => failClosed(file, `cannot be written (${(e as Error).message})`)
    })
    return entry
  })
