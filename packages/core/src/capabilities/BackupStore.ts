/**
 * The backup store capability (backups-audit.md §1, §3): content-addressed versions of every file this
 * server writes, revertibility against the live file, reconstruction, caps and eviction, and a per-target
 * lock that serialises writes and reverts to one target. Layers live in `@homelab-mcp/transport/BackupStoreFs`
 * (`layer`, `layerConfig`, and the in-memory `layerTest`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { BackupDecision, BackupSettings } from "../backup/Policy.js"
import type { BackupKind, VersionRecord } from "../backup/Record.js"
import type { LiveState, Restored } from "../backup/Reconstruct.js"
import type { Target } from "../backup/Target.js"
import type { Previous } from "../backup/WritePlan.js"
import type { BackupStoreFull, Internal, NoBackups, NotRevertible, VersionNotFound } from "../Errors.js"

export type { BackupKind, BackupSettings, LiveState, Previous, Restored, Target, VersionRecord }

/** One operation to back up: the previous state (read once by the caller) and what it will become. */
export interface StoreRequest {
  readonly target: Target
  /** The state before the operation, exactly the bytes the operation was computed on. */
  readonly previous: Previous
  /** The content after the operation; `null` when the operation deletes the file (a revert of a create). */
  readonly next: Uint8Array | null
  readonly tool: string
  readonly opId: string
  /**
   * The decision the caller's write plan already made for exactly these bytes (`WritePlan.plan`); the store
   * uses it when its own re-anchoring verdict agrees, instead of hashing and compressing again.
   */
  readonly decision?: BackupDecision | null
}

/** What storing did. */
export interface StoreResult {
  readonly versionId: string
  readonly kind: BackupKind
  /** False only for `metadata-only`: the write then needs `confirm:true`. */
  readonly revertible: boolean
  /** The live content differed from the newest version's `afterSha256`: stored `full`, never as a delta. */
  readonly reanchored: boolean
  /** Version ids evicted by the caps to make room (for the audit record's `evicted`). */
  readonly evicted: ReadonlyArray<string>
  /** Disk-pressure warnings (policy `warn`) for the result and the audit record. */
  readonly warnings: ReadonlyArray<string>
  readonly record: VersionRecord
}

/** The outcome of the eviction plan and disk-pressure policy (pipeline step 7), computed without writing. */
export interface CapacityCheck {
  readonly kind: BackupKind
  readonly evict: ReadonlyArray<string>
  readonly usedBytesAfter: number
  readonly capBytes: number
  readonly warnings: ReadonlyArray<string>
}

/** One version classified against the live file (list_backups, diff_config). */
export interface VersionView {
  readonly record: VersionRecord
  readonly revertible: boolean
  readonly revertReason?: string
}

/** A version's before-state, rebuilt and hash-checked. */
export interface RestoreResult {
  readonly record: VersionRecord
  readonly state: Restored
  /**
   * True when the live file is not what the target's newest version left behind (changed outside this
   * server since the last managed write, or could not be hashed). revert_file refuses then unless the
   * caller explicitly overrides, so an out-of-band edit is never silently overwritten.
   */
  readonly changedOutOfBand: boolean
  /** The newest version's `afterSha256` (what the live file should hash to). */
  readonly expectedLiveSha256: string | null
}

/** Store-wide usage. */
export interface Usage {
  readonly usedBytes: number
  readonly capBytes: number
  readonly targets: number
  readonly versions: number
  readonly blobs: number
}

/** The backup store. */
export class BackupStore extends Context.Tag("@homelab-mcp/core/BackupStore")<BackupStore, BackupStore.Service>() {}

export declare namespace BackupStore {
  /** The store service. Reads die on local I/O failure; `store` fails with `Internal` instead. */
  export interface Service {
    /** The settings the store runs with (policy, caps). */
    readonly settings: BackupSettings
    /** The target's records, newest first (by `createdAt`, then `seq`). */
    readonly versions: (descriptor: string) => Effect.Effect<ReadonlyArray<VersionRecord>>
    /** The target's newest record (for re-anchoring and dryRun). */
    readonly newest: (descriptor: string) => Effect.Effect<Option.Option<VersionRecord>>
    /** Every version newest first, classified against the live state read once by the caller. */
    readonly list: (descriptor: string, live: LiveState) => Effect.Effect<ReadonlyArray<VersionView>>
    /** Pipeline step 7: the eviction plan and disk-pressure policy; `BackupStoreFull` under `refuse`. Writes nothing. */
    readonly checkCapacity: (request: StoreRequest) => Effect.Effect<CapacityCheck, BackupStoreFull | Internal>
    /**
     * Pipeline step 9: evicts per the plan and stores the previous state (blob before record, atomic
     * writes). Fails with `BackupStoreFull` (policy `refuse`, nothing written) or `Internal` (local I/O);
     * on failure the target must not be written.
     */
    readonly store: (request: StoreRequest) => Effect.Effect<StoreResult, BackupStoreFull | Internal>
    /**
     * The before-state of `versionId` (default: the newest revertible version) of this target only.
     * `NoBackups` when the target has none, `VersionNotFound` for an id of another target, `NotRevertible`
     * with the reason of each candidate (corruption included; corrupt content is never returned).
     */
    readonly restore: (
      descriptor: string,
      versionId: string | undefined,
      live: LiveState
    ) => Effect.Effect<RestoreResult, NoBackups | VersionNotFound | NotRevertible>
    /** Removes a version stored for a write that failed before the target was replaced (and its unshared blob). */
    readonly remove: (descriptor: string, versionId: string) => Effect.Effect<void, VersionNotFound>
    /** Marks a version `uncertain:true` (the write's outcome is unknown). */
    readonly markUncertain: (descriptor: string, versionId: string) => Effect.Effect<VersionRecord, VersionNotFound>
    /** Store-wide usage (records plus distinct blobs). */
    readonly usage: Effect.Effect<Usage>
    /** Runs `effect` holding the target's lock: writes and reverts to one target never interleave. */
    readonly withTargetLock: <A, E, R>(descriptor: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    /** A mark of the locked sections so far (no I/O), for `lockedSince`. */
    readonly lockMark: Effect.Effect<number>
    /** True when a `withTargetLock` section on the target ended after `mark` was taken (this instance's sections). */
    readonly lockedSince: (descriptor: string, mark: number) => Effect.Effect<boolean>
  }
}
