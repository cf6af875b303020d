/**
 * The reverse delta format `homelab-mcp-rdiff` v1 (backups-audit.md §1.2): a JSON document whose ops
 * rebuild `result` from `base`, line by line. Lines are split after each `\n` with the terminator kept;
 * inserted lines are base64 of their raw bytes, so CRLF, a missing final newline and non-UTF-8 text
 * survive byte for byte. Pure.
 */
import { diffArrays } from "diff"
import * as LineHashes from "../diff/LineHashes.js"
import { MYERS_TIMEOUT_MS } from "../diff/UnifiedDiff.js"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { sha256 } from "./Hash.js"

const Count = Schema.Number.pipe(Schema.int(), Schema.positive())

/** One delta op: copy `keep` base lines, drop `skip` base lines, or emit the `insert` segments. */
export const Op = Schema.Union(
  Schema.Struct({ keep: Count }),
  Schema.Struct({ skip: Count }),
  Schema.Struct({ insert: Schema.Array(Schema.String) })
)
/** One delta op. */
export type Op = typeof Op.Type

/** The delta document. */
export const Delta = Schema.Struct({
  format: Schema.Literal("homelab-mcp-rdiff"),
  version: Schema.Literal(1),
  base: Schema.String,
  result: Schema.String,
  ops: Schema.Array(Op)
})
/** The delta document. */
export type Delta = typeof Delta.Type

/** Splits after each `\n`, keeping terminators; the last line may lack one. Empty input has no lines. */
export const splitLines = (bytes: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      out.push(bytes.subarray(start, i + 1))
      start = i + 1
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start))
  return out
}

// latin1 maps every byte to one code unit, so string equality is byte equality.
const asKey = (line: Uint8Array) => Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("latin1")

/** Options of `make`. */
export interface MakeOptions {
  /** Gives up (returns `None`) when the line edit distance exceeds this; default 20000. */
  readonly maxEditLength?: number
  /** Gives up (returns `None`) when more than this fraction of `result`'s lines would have to be inserted. */
  readonly maxInsertedFraction?: number
  /** The line hashes of `base` (before) and `result` (after), when the caller already has them. */
  readonly lineHashes?: LineHashes.Pair
}

/** Builds the delta rebuilding `result` from `base`; `None` when the edit distance is over the limit. */
export const make = (base: Uint8Array, result: Uint8Array, options: MakeOptions = {}): Option.Option<Delta> => {
  const maxEditLength = options.maxEditLength ?? 20000
  const hashes = options.lineHashes ?? LineHashes.pair(base, result)
  // Myers costs about D² here: skip it when the cheap lower bound (on line hashes, before any line string
  // exists) already exceeds the limit, and stop it at a wall-clock backstop (a full copy is then stored,
  // which is always correct).
  if (LineHashes.symmetricDifference(hashes.before(), hashes.after()) > maxEditLength) return Option.none()
  // Every line of `result` that `base` lacks must be inserted: a caller that only wants small deltas
  // (the backup policy) gives up before Myers when too many lines would be.
  if (
    options.maxInsertedFraction !== undefined &&
    LineHashes.missingFrom(hashes.before(), hashes.after()) > options.maxInsertedFraction * hashes.after().length
  ) {
    return Option.none()
  }
  const baseLines = splitLines(base).map(asKey)
  const resultLines = splitLines(result).map(asKey)
  const changes = diffArrays(baseLines, resultLines, { maxEditLength, timeout: MYERS_TIMEOUT_MS })
  if (changes === undefined) return Option.none()
  const ops: Array<Op> = []
  const push = (op: Op) => {
    const last = ops[ops.length - 1]
    if (last !== undefined && "insert" in op && "insert" in last) {
      ops[ops.length - 1] = { insert: [...last.insert, ...op.insert] }
    } else ops.push(op)
  }
  for (const change of changes) {
    if (change.count === 0) continue
    if (change.added) push({ insert: change.value.map((l) => Buffer.from(l, "latin1").toString("base64")) })
    else if (change.removed) push({ skip: change.count })
    else push({ keep: change.count })
  }
  return Option.some({ format: "homelab-mcp-rdiff", version: 1, base: sha256(base), result: sha256(result), ops })
}

/** The delta's stored payload (compact JSON as UTF-8). */
export const encode = (delta: Delta): Uint8Array =>
  new Uint8Array(Buffer.from(JSON.stringify(Schema.encodeSync(Delta)(delta)), "utf8"))

const decodeDelta = Schema.decodeUnknownEither(Schema.parseJson(Delta))

/** Parses a stored payload; `Left` says why it is not a v1 delta. */
export const decode = (payload: Uint8Array): Either.Either<Delta, string> =>
  decodeDelta(Buffer.from(payload).toString("utf8")).pipe(
    Either.mapLeft((e) => `not a homelab-mcp-rdiff v1 delta: ${e.message.split("\n")[0]}`)
  )

/** Applies a delta to `base`; `Left` when the base hash, the op bounds or the result hash do not match. */
export const apply = (delta: Delta, base: Uint8Array): Either.Either<Uint8Array, string> => {
  if (sha256(base) !== delta.base) return Either.left(`delta base mismatch: expected ${delta.base}, got ${sha256(base)}`)
  const lines = splitLines(base)
  const parts: Array<Uint8Array> = []
  let at = 0
  for (const op of delta.ops) {
    if ("keep" in op) {
      if (at + op.keep > lines.length) return Either.left("delta keeps past the end of its base")
      parts.push(...lines.slice(at, at + op.keep))
      at += op.keep
    } else if ("skip" in op) {
      if (at + op.skip > lines.length) return Either.left("delta skips past the end of its base")
      at += op.skip
    } else {
      for (const s of op.insert) parts.push(new Uint8Array(Buffer.from(s, "base64")))
    }
  }
  if (at !== lines.length) return Either.left("delta does not consume its whole base")
  const out = new Uint8Array(Buffer.concat(parts))
  const got = sha256(out)
  return got === delta.result ? Either.right(out) : Either.left(`delta result mismatch: expected ${delta.result}, got ${got}`)
}
