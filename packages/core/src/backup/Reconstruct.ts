/**
 * Revertibility and reconstruction (backups-audit.md §1.3), pure. `absent` restores absence; `full` is its
 * blob; `metadata-only` is never revertible; `rdiff` needs its base: the live file if its hash equals
 * `base`, else the rebuilt before-state of the next newer version whose `beforeSha256` equals `base`
 * (recursively). Every rebuilt buffer is checked against its expected hash.
 */
import * as Either from "effect/Either"
import type { VersionRecord } from "./Record.js"
import { newestFirst } from "./Record.js"
import { gunzip, sha256 } from "./Hash.js"
import * as Rdiff from "./Rdiff.js"

/** The live target as read once by the caller. `bytes` is needed only to rebuild a delta anchored on it. */
export type LiveState =
  | { readonly status: "present"; readonly sha256: string; readonly bytes?: Uint8Array }
  | { readonly status: "absent" }
  | { readonly status: "unknown"; readonly reason: string }

/** The reason an rdiff version lost its base. */
export const STALE_REASON = "changed outside this server after this version"
/** The reason a version whose blob is gone cannot be restored. */
export const BLOB_MISSING_REASON = "blob missing"
/** The reason a metadata-only version cannot be restored. */
export const METADATA_ONLY_REASON = "only metadata (hash and size) was stored for this version"

/** Whether one version can be restored, and why not. */
export type Revertibility =
  | { readonly revertible: true }
  | { readonly revertible: false; readonly reason: string; readonly corrupt?: boolean }

/** The state a version restores. */
export type Restored =
  | { readonly kind: "absent" }
  | { readonly kind: "bytes"; readonly bytes: Uint8Array; readonly sha256: string }

const sortNewest = (records: ReadonlyArray<VersionRecord>) => [...records].sort(newestFirst)

type Chain = Either.Either<ReadonlyArray<VersionRecord>, string>

/**
 * The versions needed to rebuild `records[index]`'s before-state, newest (the anchor) first and the
 * version itself last; `Left` is the reason it cannot be rebuilt. Expects `records` newest first.
 */
const chainAt = (
  records: ReadonlyArray<VersionRecord>,
  index: number,
  live: LiveState,
  hasBlob: (sha: string) => boolean,
  memo: Map<number, Chain>
): Chain => {
  const cached = memo.get(index)
  if (cached !== undefined) return cached
  const v = records[index]!
  const result = ((): Chain => {
    switch (v.kind) {
      case "absent":
        return Either.right([v])
      case "metadata-only":
        return Either.left(METADATA_ONLY_REASON)
      case "full":
        return v.blob !== null && hasBlob(v.blob) ? Either.right([v]) : Either.left(BLOB_MISSING_REASON)
      case "rdiff": {
        if (v.blob === null || !hasBlob(v.blob)) return Either.left(BLOB_MISSING_REASON)
        if (live.status === "present" && v.base !== null && live.sha256 === v.base) return Either.right([v])
        if (index === 0) {
          return live.status === "unknown" ? Either.left(`the live file could not be hashed (${live.reason})`) : Either.left(STALE_REASON)
        }
        const newer = records[index - 1]!
        if (v.base === null || newer.beforeSha256 !== v.base) return Either.left(STALE_REASON)
        const dep = chainAt(records, index - 1, live, hasBlob, memo)
        if (Either.isRight(dep)) return Either.right([...dep.right, v])
        return dep.left === STALE_REASON || dep.left.startsWith("the live file could not be hashed")
          ? Either.left(dep.left)
          : Either.left(`needs the state after this version, which cannot be rebuilt (version ${newer.versionId}: ${dep.left})`)
      }
    }
  })()
  memo.set(index, result)
  return result
}

/** Classifies every version (keyed by versionId) against the live state; `hasBlob` says which blobs exist. */
export const classify = (
  records: ReadonlyArray<VersionRecord>,
  live: LiveState,
  hasBlob: (sha: string) => boolean
): ReadonlyMap<string, Revertibility> => {
  const sorted = sortNewest(records)
  const memo = new Map<number, Chain>()
  const out = new Map<string, Revertibility>()
  sorted.forEach((v, i) => {
    const chain = chainAt(sorted, i, live, hasBlob, memo)
    out.set(v.versionId, Either.isRight(chain) ? { revertible: true } : { revertible: false, reason: chain.left })
  })
  return out
}

/** The blob names needed to rebuild `versionId` (anchor first), or why it cannot be rebuilt. */
export const requiredBlobs = (
  records: ReadonlyArray<VersionRecord>,
  versionId: string,
  live: LiveState,
  hasBlob: (sha: string) => boolean
): Either.Either<ReadonlyArray<string>, string> => {
  const sorted = sortNewest(records)
  const index = sorted.findIndex((r) => r.versionId === versionId)
  if (index < 0) return Either.left(`version ${versionId} is not a version of this target`)
  return chainAt(sorted, index, live, hasBlob, new Map()).pipe(
    Either.map((chain) => chain.flatMap((r) => (r.blob === null ? [] : [r.blob])))
  )
}

/**
 * Rebuilds the before-state of `versionId` from the gzip blobs given (by name). A decompression failure,
 * a blob whose content does not hash to its name, or a rebuilt buffer with the wrong hash is reported
 * as corruption (`corrupt: true`) and never returned as content.
 */
export const reconstruct = (
  records: ReadonlyArray<VersionRecord>,
  versionId: string,
  live: LiveState,
  blobs: ReadonlyMap<string, Uint8Array>
): Either.Either<Restored, Extract<Revertibility, { revertible: false }>> => {
  const sorted = sortNewest(records)
  const index = sorted.findIndex((r) => r.versionId === versionId)
  if (index < 0) return Either.left({ revertible: false, reason: `version ${versionId} is not a version of this target` })
  const chain = chainAt(sorted, index, live, (sha) => blobs.has(sha), new Map())
  if (Either.isLeft(chain)) return Either.left({ revertible: false, reason: chain.left })
  const corrupt = (reason: string) => Either.left({ revertible: false as const, reason: `backup corrupted: ${reason}`, corrupt: true })
  let current: Uint8Array | null = null
  const first = chain.right[0]!
  if (first.kind === "rdiff") {
    if (live.status !== "present" || live.bytes === undefined) {
      return Either.left({ revertible: false, reason: "the live content is needed to rebuild this version but was not read" })
    }
    if (sha256(live.bytes) !== first.base) return Either.left({ revertible: false, reason: STALE_REASON })
    current = live.bytes
  }
  for (const v of chain.right) {
    if (v.kind === "absent") return Either.right({ kind: "absent" })
    let payload: Uint8Array
    try {
      payload = gunzip(blobs.get(v.blob!)!)
    } catch (e) {
      return corrupt(`blob ${v.blob} of version ${v.versionId} does not decompress (${String(e)})`)
    }
    if (sha256(payload) !== v.blob) return corrupt(`blob ${v.blob} of version ${v.versionId} does not match its hash`)
    if (v.kind === "full") current = payload
    else {
      const delta = Rdiff.decode(payload)
      if (Either.isLeft(delta)) return corrupt(`version ${v.versionId}: ${delta.left}`)
      const applied = Rdiff.apply(delta.right, current!)
      if (Either.isLeft(applied)) return corrupt(`version ${v.versionId}: ${applied.left}`)
      current = applied.right
    }
    const got = sha256(current)
    if (got !== v.beforeSha256) {
      return corrupt(`version ${v.versionId} rebuilt to ${got}, expected ${v.beforeSha256}`)
    }
  }
  return Either.right({ kind: "bytes", bytes: current!, sha256: sha256(current!) })
}

/** The live file's hash, `null` for absent, `undefined` when it could not be hashed. */
export const liveSha256 = (live: LiveState): string | null | undefined =>
  live.status === "present" ? live.sha256 : live.status === "absent" ? null : undefined

/**
 * True when the live state differs from what the newest version's operation left behind (an out-of-band
 * change since the last managed write), or cannot be known. False when there are no versions.
 */
export const changedOutOfBand = (records: ReadonlyArray<VersionRecord>, live: LiveState): boolean => {
  const newest = sortNewest(records)[0]
  if (newest === undefined) return false
  const sha = liveSha256(live)
  return sha === undefined || sha !== newest.afterSha256
}
