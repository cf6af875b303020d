/**
 * The SSH trust-on-first-use store (transport-trust.md §1): JSON keyed by `host:port`, written atomically
 * (temp file, fsync, rename). A store that exists but cannot be read or parsed fails closed.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import * as Either from "effect/Either"

/** One recorded host key. */
export interface KnownHost {
  readonly fingerprint: string
  readonly algorithm: string
  readonly recordedAt: string
}

/** The store's content. */
export type KnownHosts = Readonly<Record<string, KnownHost>>

const isKnownHost = (v: unknown): v is KnownHost =>
  typeof v === "object" && v !== null &&
  typeof (v as KnownHost).fingerprint === "string" &&
  typeof (v as KnownHost).algorithm === "string" &&
  typeof (v as KnownHost).recordedAt === "string"

/** Reads the store: absent = empty; unreadable or malformed = `Left(reason)` (fail closed, never treated as empty). */
export const readKnownHosts = (file: string): Either.Either<KnownHosts, string> => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === "ENOENT") return Either.right({})
    return Either.left(`the TOFU store ${file} exists but cannot be read (${code ?? String(e)})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return Either.left(`the TOFU store ${file} is not valid JSON; fix or remove it deliberately`)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return Either.left(`the TOFU store ${file} is not a JSON object keyed by host:port`)
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!isKnownHost(value)) return Either.left(`the TOFU store ${file} has a malformed entry for ${key}`)
  }
  return Either.right(parsed as KnownHosts)
}

/** Adds one entry and rewrites the store atomically (mode 0600); `Left(reason)` when it cannot be written. */
export const recordKnownHost = (file: string, key: string, entry: KnownHost): Either.Either<void, string> => {
  const current = readKnownHosts(file)
  if (Either.isLeft(current)) return Either.left(current.left)
  const next = { ...current.right, [key]: entry }
  const dir = path.dirname(file)
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`)
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    const fd = fs.openSync(tmp, "wx", 0o600)
    try {
      fs.writeFileSync(fd, JSON.stringify(next, null, 2) + "\n")
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, file)
    return Either.right(undefined)
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true })
    } catch {
      // the temp file may not exist
    }
    return Either.left(`the TOFU store ${file} cannot be written (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
}
