/**
 * The census snapshot store on the local filesystem (census-health.md §1.6): one JSON file per snapshot,
 * `census-<UTC yyyymmddThhmmssSSSZ>.json` under `MCP_CENSUS_DIR` (default `<data>/census`, created
 * owner-only), written to a temp sibling, fsynced and renamed (atomic); after each save only the newest
 * `MCP_CENSUS_RETENTION` files are kept.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as DataDir from "@homelab-mcp/core/DataDir"
import { CensusStore, CensusStoreError, fileNameAt, isSnapshotFileName, type Saved } from "@homelab-mcp/core/capabilities/CensusStore"

/** Where and how many. */
export interface Options {
  readonly dir: string
  readonly retention: number
}

const io = <A>(operation: "save" | "load", what: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) => new CensusStoreError({ operation, reason: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })
  })

const listSnapshots = (dir: string, operation: "save" | "load") =>
  io(operation, `cannot list ${dir}`, async () => {
    try {
      return (await fs.readdir(dir)).filter(isSnapshotFileName).sort()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return []
      throw e
    }
  })

/** A filesystem-backed store. */
export const make = (options: Options): CensusStore.Service => {
  const { dir, retention } = options
  const save: CensusStore.Service["save"] = (doc) =>
    Effect.gen(function* () {
      yield* io("save", `cannot create ${dir}`, () => fs.mkdir(dir, { recursive: true, mode: 0o700 }))
      const existing = new Set(yield* listSnapshots(dir, "save"))
      let at = yield* Clock.currentTimeMillis
      while (existing.has(fileNameAt(at))) at++
      const name = fileNameAt(at)
      const target = path.join(dir, name)
      const temp = path.join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`)
      const body = `${JSON.stringify({ ...doc, snapshotId: name })}\n`
      yield* io("save", `cannot write ${target}`, async () => {
        const handle = await fs.open(temp, "wx", 0o600)
        try {
          await handle.writeFile(body, "utf8")
          await handle.sync()
        } finally {
          await handle.close()
        }
        await fs.rename(temp, target)
      }).pipe(Effect.tapError(() => Effect.promise(() => fs.rm(temp, { force: true }))))
      const all = yield* listSnapshots(dir, "save")
      const stale = all.slice(0, Math.max(0, all.length - retention))
      yield* Effect.forEach(stale, (f) => io("save", `cannot prune ${f}`, () => fs.rm(path.join(dir, f), { force: true })), {
        discard: true
      })
      return name
    })
  const loadLatest: CensusStore.Service["loadLatest"] = (schemaVersion) =>
    Effect.gen(function* () {
      const names = (yield* listSnapshots(dir, "load")).reverse()
      for (const name of names) {
        const parsed = yield* Effect.promise(async () => {
          try {
            return JSON.parse(await fs.readFile(path.join(dir, name), "utf8")) as unknown
          } catch {
            return undefined
          }
        })
        if (
          typeof parsed === "object" &&
          parsed !== null &&
          !Array.isArray(parsed) &&
          (parsed as Record<string, unknown>)["schemaVersion"] === schemaVersion
        ) {
          return Option.some<Saved>({ snapshotId: name, doc: parsed as Record<string, unknown> })
        }
      }
      return Option.none()
    })
  return { save, loadLatest }
}

/** The store at `options.dir`. */
export const layer = (options: Options): Layer.Layer<CensusStore> => Layer.succeed(CensusStore, make(options))

/** `MCP_CENSUS_DIR` (default `<data>/census`) and `MCP_CENSUS_RETENTION` (30, 1..100000). */
export const config: Config.Config<Options> = Config.all({
  dir: DataDir.under("MCP_CENSUS_DIR", "census"),
  retention: ConfigVars.integer("MCP_CENSUS_RETENTION", 30, 1, 100_000)
})

/** The store configured from the environment. */
export const layerConfig: Layer.Layer<CensusStore, ConfigError.ConfigError> = Layer.effect(
  CensusStore,
  Effect.map(config, make)
)

/** An in-memory store for tests (same naming, ordering and retention; `files` exposes the saved JSON texts). */
export const makeMemory = (retention = 30) => {
  const files = new Map<string, string>()
  const service: CensusStore.Service = {
    save: (doc) =>
      Effect.gen(function* () {
        let at = yield* Clock.currentTimeMillis
        while (files.has(fileNameAt(at))) at++
        const name = fileNameAt(at)
        files.set(name, JSON.stringify({ ...doc, snapshotId: name }))
        const names = [...files.keys()].sort()
        for (const stale of names.slice(0, Math.max(0, names.length - retention))) files.delete(stale)
        return name
      }),
    loadLatest: (schemaVersion) =>
      Effect.sync(() => {
        for (const name of [...files.keys()].sort().reverse()) {
          const doc = JSON.parse(files.get(name)!) as Record<string, unknown>
          if (doc["schemaVersion"] === schemaVersion) return Option.some<Saved>({ snapshotId: name, doc })
        }
        return Option.none()
      })
  }
  return { service, files }
}

/** An in-memory store layer for tests. */
export const layerTest = (retention = 30): Layer.Layer<CensusStore> => Layer.sync(CensusStore, () => makeMemory(retention).service)
