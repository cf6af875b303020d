/**
 * The eviction planner (backups-audit.md §1.4), pure. It runs before a version is stored, with the new
 * version's size included: trim the written target to `perFileCap − 1` versions oldest first; then, while
 * the store is over `globalCapBytes`, evict the oldest version in the store (by `createdAt`, then `seq`)
 * that is not the newest of its target; finally delete blobs no remaining record references. Versions go
 * whole: a record and the blob only it references leave together. A blob shared by several records is
 * counted once.
 */
import { byAge } from "./Record.js"

/** What the planner needs to know about one stored version. */
export interface StoredVersion {
  readonly versionId: string
  readonly descriptor: string
  readonly createdAt: string
  readonly seq: number
  readonly blob: string | null
  /** On-disk size of the record file. */
  readonly recordBytes: number
}

/** The version about to be stored. */
export interface IncomingVersion {
  readonly descriptor: string
  readonly recordBytes: number
  readonly blob: string | null
  /** Compressed size of its blob (ignored when the blob already exists). */
  readonly blobBytes: number
}

/** Inputs of one plan. */
export interface PlanInput {
  readonly versions: ReadonlyArray<StoredVersion>
  /** Every blob in the store with its compressed size, referenced or not. */
  readonly blobSizes: ReadonlyMap<string, number>
  readonly incoming: IncomingVersion
  readonly perFileCap: number
  readonly globalCapBytes: number
}

/** The plan. */
export interface Plan {
  /** Version ids to delete, in eviction order. */
  readonly evict: ReadonlyArray<string>
  /** Blobs no remaining (or incoming) record references. */
  readonly deleteBlobs: ReadonlyArray<string>
  /** Store size before the plan (existing records and blobs). */
  readonly usedBytesBefore: number
  /** Store size after the plan, the incoming version included. */
  readonly usedBytesAfter: number
  /** True when only newest versions are left and the store is still over its cap. */
  readonly overCap: boolean
}

/** Total size of a set of versions plus the distinct blobs they reference. */
export const usage = (versions: ReadonlyArray<StoredVersion>, blobSizes: ReadonlyMap<string, number>): number => {
  let total = 0
  const blobs = new Set<string>()
  for (const v of versions) {
    total += v.recordBytes
    if (v.blob !== null) blobs.add(v.blob)
  }
  for (const b of blobs) total += blobSizes.get(b) ?? 0
  return total
}

/** Plans the evictions for storing `incoming`; never evicts the newest version of any other target. */
export const plan = (input: PlanInput): Plan => {
  const { incoming } = input
  const perFileCap = Math.max(1, Math.floor(input.perFileCap))
  const sizes = new Map(input.blobSizes)
  if (incoming.blob !== null && !sizes.has(incoming.blob)) sizes.set(incoming.blob, incoming.blobBytes)
  const incomingAsVersion: StoredVersion = {
    versionId: "\u0000incoming",
    descriptor: incoming.descriptor,
    createdAt: "\uffff",
    seq: Number.MAX_SAFE_INTEGER,
    blob: incoming.blob,
    recordBytes: incoming.recordBytes
  }
  const remaining = new Map(input.versions.map((v) => [v.versionId, v]))
  const evict: Array<string> = []

  const own = input.versions.filter((v) => v.descriptor === incoming.descriptor).sort(byAge)
  for (let i = 0; i < own.length - (perFileCap - 1); i++) {
    evict.push(own[i]!.versionId)
    remaining.delete(own[i]!.versionId)
  }

  const all = () => [...remaining.values(), incomingAsVersion]
  let used = usage(all(), sizes)
  if (used > input.globalCapBytes) {
    const newest = new Map<string, StoredVersion>()
    for (const v of all()) {
      const cur = newest.get(v.descriptor)
      if (cur === undefined || byAge(cur, v) < 0) newest.set(v.descriptor, v)
    }
    const candidates = [...remaining.values()].filter((v) => newest.get(v.descriptor) !== v).sort(byAge)
    for (const v of candidates) {
      if (used <= input.globalCapBytes) break
      evict.push(v.versionId)
      remaining.delete(v.versionId)
      used = usage(all(), sizes)
    }
  }

  const referenced = new Set(all().flatMap((v) => (v.blob === null ? [] : [v.blob])))
  const deleteBlobs = [...input.blobSizes.keys()].filter((b) => !referenced.has(b))
  return {
    evict,
    deleteBlobs,
    usedBytesBefore: usage(input.versions, input.blobSizes) + orphanBytes(input),
    usedBytesAfter: used,
    overCap: used > input.globalCapBytes
  }
}

const orphanBytes = (input: PlanInput): number => {
  const referenced = new Set(input.versions.flatMap((v) => (v.blob === null ? [] : [v.blob])))
  let total = 0
  for (const [b, size] of input.blobSizes) if (!referenced.has(b)) total += size
  return total
}
