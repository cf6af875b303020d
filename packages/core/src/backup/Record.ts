/**
 * One backed-up operation (backups-audit.md §1.1): `targets/<targetKey>/<versionId>.json`. A version holds
 * the state of the target **before** the operation.
 */
import * as Order from "effect/Order"
import * as Schema from "effect/Schema"

/** What a version stores (backups-audit.md §1.2). */
export const BackupKind = Schema.Literal("absent", "full", "rdiff", "metadata-only")
/** What a version stores. */
export type BackupKind = typeof BackupKind.Type

const Sha = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))
const Int = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** The version record. Ordering comes from `createdAt` then `seq`, never from file names. */
export const VersionRecord = Schema.Struct({
  versionId: Schema.String.pipe(Schema.pattern(/^[0-9A-HJKMNP-TV-Z]{26}$/)),
  descriptor: Schema.String,
  createdAt: Schema.String,
  seq: Int,
  tool: Schema.String,
  opId: Schema.String,
  kind: BackupKind,
  /** sha256 of the uncompressed payload stored in `blobs/` (full: the bytes; rdiff: the delta JSON). */
  blob: Schema.NullOr(Sha),
  /** rdiff only: sha256 of the bytes the delta applies to (the content right after the operation). */
  base: Schema.NullOr(Sha),
  beforeSha256: Schema.NullOr(Sha),
  beforeBytes: Int,
  /** Permission bits of the previous file as a number (0o644 = 420), when known. */
  beforeMode: Schema.NullOr(Int),
  beforeUid: Schema.NullOr(Int),
  beforeGid: Schema.NullOr(Int),
  /** null when the operation deleted the file. */
  afterSha256: Schema.NullOr(Sha),
  afterBytes: Int,
  binary: Schema.Boolean,
  /** Compressed size of the blob this record names (0 without a blob). */
  storedBytes: Int,
  uncertain: Schema.Boolean,
  reanchored: Schema.Boolean
})
/** The version record. */
export type VersionRecord = typeof VersionRecord.Type

/** Oldest first: by `createdAt`, then `seq`. */
export const byAge: Order.Order<Pick<VersionRecord, "createdAt" | "seq">> = Order.combine(
  Order.mapInput(Order.string, (r: Pick<VersionRecord, "createdAt" | "seq">) => r.createdAt),
  Order.mapInput(Order.number, (r: Pick<VersionRecord, "createdAt" | "seq">) => r.seq)
)

/** Newest first. */
export const newestFirst = Order.reverse(byAge)

/** Decodes a record from its JSON text; throws a ParseError on a malformed record. */
export const decodeJson = Schema.decodeUnknownSync(Schema.parseJson(VersionRecord))

/** Encodes a record as the exact bytes stored on disk (compact JSON plus a newline). */
export const toJson = (record: VersionRecord): string => `${JSON.stringify(Schema.encodeSync(VersionRecord)(record))}\n`

/** The on-disk size of a record, which counts toward the global cap. */
export const recordBytes = (record: VersionRecord): number => Buffer.byteLength(toJson(record))
