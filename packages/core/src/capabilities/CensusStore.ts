/**
 * Saved census snapshots (census-health.md §1.6): the finished, already redacted document written
 * atomically under `MCP_CENSUS_DIR`, the newest `MCP_CENSUS_RETENTION` kept. Exists at every tier.
 * Layers: `@homelab-mcp/transport/CensusStoreFs` (`layer`, `layerConfig`, `layerTest`).
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"

/** The store could not read or write; the census still returns its document (the error goes to `errors[]`). */
export class CensusStoreError extends Data.TaggedError("CensusStoreError")<{
  readonly operation: "save" | "load"
  readonly reason: string
}> {
  override get message() {
    return `census snapshot ${this.operation} failed: ${this.reason}`
  }
}

/** A saved snapshot: its id (the file name, `census-<UTC yyyymmddThhmmssSSSZ>.json`) and its JSON document. */
export interface Saved {
  readonly snapshotId: string
  readonly doc: Readonly<Record<string, unknown>>
}

/** The snapshot store. */
export class CensusStore extends Context.Tag("@homelab-mcp/core/CensusStore")<CensusStore, CensusStore.Service>() {}

export declare namespace CensusStore {
  /** The store. */
  export interface Service {
    /**
     * Writes `doc` with its `snapshotId` field set to the new id, atomically (temp file + rename), then
     * prunes beyond the retention; returns the id.
     */
    readonly save: (doc: Readonly<Record<string, unknown>>) => Effect.Effect<string, CensusStoreError>
    /** The newest readable snapshot whose `schemaVersion` equals the given one; unreadable files are skipped. */
    readonly loadLatest: (schemaVersion: number) => Effect.Effect<Option.Option<Saved>, CensusStoreError>
  }
}

/** The snapshot file name of an instant: `census-20261126T155012345Z.json` (UTC). */
export const fileNameAt = (epochMs: number): string => {
  const iso = new Date(epochMs).toISOString() // 2026-11-26T15:50:12.345Z
  const compact = iso.replace(/[-:]/g, "").replace(".", "") // 20261126T155012345Z
  return `census-${compact}.json`
}

/** True for a name `fileNameAt` produces. */
export const isSnapshotFileName = (name: string): boolean => /^census-\d{8}T\d{9}Z\.json$/.test(name)
