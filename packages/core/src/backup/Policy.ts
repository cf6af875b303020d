/**
 * What a backup version stores (backups-audit.md §1.2), as a pure decision: `selectBackupKind` decides the
 * kind and produces the exact payload, its content address and its gzip, so the store only writes bytes.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BackupKind } from "./Record.js"
import { gzip, gzipOffThread, isBinaryPair, sha256 } from "./Hash.js"
import * as Rdiff from "./Rdiff.js"
import * as LineHashes from "../diff/LineHashes.js"

/** What to do with a previous file over `largeFileBytes`. */
export type LargeFilePolicy = "full" | "metadata-only"

/** What to do when only newest versions are left and the store is still over its cap. */
export type DiskPressurePolicy = "warn" | "refuse"

/** The configurable backup settings (tiers-setup.md §3, "Backups"). */
export interface BackupSettings {
  /** `MCP_LARGE_FILE_BYTES` (1048576). */
  readonly largeFileBytes: number
  /** `MCP_LARGE_FILE_POLICY` (full). */
  readonly largeFilePolicy: LargeFilePolicy
  /** `MCP_BACKUP_PER_FILE_CAP` (10). */
  readonly perFileCap: number
  /** `MCP_BACKUP_GLOBAL_CAP_BYTES` (104857600). */
  readonly globalCapBytes: number
  /** `MCP_DISK_PRESSURE_POLICY` (warn). */
  readonly diskPressurePolicy: DiskPressurePolicy
}

/** The documented defaults. */
export const defaultSettings: BackupSettings = {
  largeFileBytes: 1048576,
  largeFilePolicy: "full",
  perFileCap: 10,
  globalCapBytes: 104857600,
  diskPressurePolicy: "warn"
}

/** The inputs of one decision. */
export interface BackupInput {
  /** The previous content, read once; `null` when the target did not exist. */
  readonly previous: Uint8Array | null
  /** The content after the operation; `null` when the operation deletes the file. */
  readonly next: Uint8Array | null
  /** True when the live content differs from the newest version's `afterSha256` (out-of-band edit). */
  readonly reanchor: boolean
  readonly settings: Pick<BackupSettings, "largeFileBytes" | "largeFilePolicy" | "globalCapBytes">
  /** The line hashes of `previous` (before) and `next` (after), when the caller already has them. */
  readonly lineHashes?: LineHashes.Pair
  /** `fullPayload(previous)`, when the caller already made it (compressed off the main thread). */
  readonly full?: StoredPayload
}

/** A payload to keep in `blobs/`: its uncompressed sha256 (the blob name) and its gzip. */
export interface StoredPayload {
  readonly sha256: string
  readonly gz: Uint8Array
}

/** The decision; `full` and `rdiff` carry the payload to store. */
export type BackupDecision =
  | { readonly kind: "absent"; readonly binary: boolean; readonly reanchored: boolean }
  | {
    readonly kind: "metadata-only"
    readonly binary: boolean
    readonly reanchored: boolean
    readonly reason: "large-file-policy" | "over-global-cap"
  }
  | { readonly kind: "full"; readonly binary: boolean; readonly reanchored: boolean; readonly payload: StoredPayload }
  | {
    readonly kind: "rdiff"
    readonly binary: boolean
    readonly reanchored: boolean
    readonly payload: StoredPayload
    /** sha256 of the bytes the delta applies to (= the next content). */
    readonly base: string
  }

/**
 * A lower bound of any delta's gzip: its two SHA-256 hex hashes carry 64 bytes of entropy, and gzip adds an
 * 18-byte frame. A delta is kept only when its gzip is at most half the full copy's, so a previous file
 * whose full gzip is under twice this never gets one.
 */
export const MIN_DELTA_GZ_BYTES = 64 + 18

/** Decides what to store for one operation; never an empty blob for a missing file. */
export const selectBackupKind = (input: BackupInput): BackupDecision => {
  const { previous, next, reanchor, settings } = input
  const payloadOf = (bytes: Uint8Array) => input.full ?? fullPayload(bytes)
  const binary = isBinaryPair(previous, next)
  if (previous === null) return { kind: "absent", binary, reanchored: reanchor }
  if (previous.length > settings.largeFileBytes) {
    if (settings.largeFilePolicy === "metadata-only") {
      return { kind: "metadata-only", binary, reanchored: reanchor, reason: "large-file-policy" }
    }
    const full = payloadOf(previous)
    return full.gz.length <= settings.globalCapBytes
      ? { kind: "full", binary, reanchored: reanchor, payload: full }
      : { kind: "metadata-only", binary, reanchored: reanchor, reason: "over-global-cap" }
  }
  const full = payloadOf(previous)
  if (binary || reanchor || next === null) return { kind: "full", binary, reanchored: reanchor, payload: full }
  // no delta can beat half of a tiny full copy: skip splitting a possibly large next content into lines
  if (full.gz.length < 2 * MIN_DELTA_GZ_BYTES) return { kind: "full", binary, reanchored: false, payload: full }
  // a delta inserting more than half of the previous lines cannot be at most half its compressed size
  const delta = Rdiff.make(next, previous, {
    maxInsertedFraction: 0.5,
    ...(input.lineHashes !== undefined ? { lineHashes: LineHashes.swap(input.lineHashes) } : {})
  })
  if (Option.isSome(delta)) {
    const bytes = Rdiff.encode(delta.value)
    const gz = gzip(bytes)
    if (gz.length * 2 <= full.gz.length) {
      return { kind: "rdiff", binary, reanchored: false, payload: { sha256: sha256(bytes), gz }, base: delta.value.base }
    }
  }
  return { kind: "full", binary, reanchored: false, payload: full }
}

/** The `full` payload of `bytes`: their sha256 and gzip. */
export const fullPayload = (bytes: Uint8Array): StoredPayload => ({ sha256: sha256(bytes), gz: gzip(bytes) })

/** `fullPayload`, compressed on libuv's thread pool: the same bytes, while the calling thread goes on. */
export const fullPayloadOffThread = (bytes: Uint8Array): Effect.Effect<StoredPayload> =>
  Effect.map(gzipOffThread(bytes), (gz) => ({ sha256: sha256(bytes), gz }))

/** True when a version of this kind can be restored without further checks (absent, full). */
export const isSelfContained = (kind: BackupKind): boolean => kind === "absent" || kind === "full"
