import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CensusStore, fileNameAt, isSnapshotFileName } from "@homelab-mcp/core/capabilities/CensusStore"
import * as CensusStoreFs from "@homelab-mcp/transport/CensusStoreFs"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "census-store-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const doc = (n: number, schemaVersion = 1) => ({ schemaVersion, n, snapshotId: null })

describe("CensusStore file names", () => {
  it("census-<UTC yyyymmddThhmmssSSSZ>.json", () => {
    expect(fileNameAt(Date.UTC(2026, 10, 26, 15, 50, 12, 345))).toBe("census-20261126T155012345Z.json")
    expect(isSnapshotFileName("census-20261126T155012345Z.json")).toBe(true)
    expect(isSnapshotFileName("census-20261126T155012345Z.json.tmp")).toBe(false)
  })
})

describe("CensusStoreFs", () => {
  it.scopedLive("saves atomically with the id inside, owner-only directory, and loads the newest of the same schemaVersion", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const dir = path.join(root, "data", "census")
      const store = CensusStoreFs.make({ dir, retention: 30 })
      const a = yield* store.save(doc(1))
      const b = yield* store.save(doc(2))
      const c = yield* store.save(doc(3, 2))
      expect([a, b, c].every(isSnapshotFileName)).toBe(true)
      expect(new Set([a, b, c]).size).toBe(3)
      const files = (yield* Effect.promise(() => fs.readdir(dir))).sort()
      expect(files).toEqual([a, b, c].sort())
      const saved = JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(dir, b), "utf8")))
      expect(saved).toEqual({ schemaVersion: 1, n: 2, snapshotId: b })
      if (process.platform !== "win32") {
        const mode = (yield* Effect.promise(() => fs.stat(dir))).mode & 0o777
        expect(mode).toBe(0o700)
      }
      const latest = yield* store.loadLatest(1)
      expect(Option.map(latest, (s) => [s.snapshotId, s.doc["n"]])).toEqual(Option.some([b, 2]))
      expect(Option.isNone(yield* store.loadLatest(7))).toBe(true)
    })
  )

  it.scopedLive("keeps only the newest MCP_CENSUS_RETENTION snapshots and skips unreadable files", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const store = CensusStoreFs.make({ dir, retention: 3 })
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) ids.push(yield* store.save(doc(i)))
      const files = (yield* Effect.promise(() => fs.readdir(dir))).sort()
      expect(files).toEqual(ids.slice(2))
      yield* Effect.promise(() => fs.writeFile(path.join(dir, "census-29991231T235959999Z.json"), "{not json"))
      const latest = yield* store.loadLatest(1)
      expect(Option.map(latest, (s) => s.snapshotId)).toEqual(Option.some(ids[4]))
    })
  )

  it.scopedLive("an empty or missing directory has no baseline; a write failure is a CensusStoreError", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const store = CensusStoreFs.make({ dir: path.join(root, "missing"), retention: 3 })
      expect(Option.isNone(yield* store.loadLatest(1))).toBe(true)
      const file = path.join(root, "file")
      yield* Effect.promise(() => fs.writeFile(file, "x"))
      const broken = CensusStoreFs.make({ dir: path.join(file, "sub"), retention: 3 })
      const err = yield* Effect.flip(broken.save(doc(1)))
      expect(err._tag).toBe("CensusStoreError")
      expect(err.operation).toBe("save")
    })
  )

  it.scopedLive("layerConfig reads MCP_CENSUS_DIR and MCP_CENSUS_RETENTION", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const provider = ConfigProvider.fromMap(new Map([["MCP_CENSUS_DIR", dir], ["MCP_CENSUS_RETENTION", "1"]]))
      const program = Effect.gen(function* () {
        const store = yield* CensusStore
        yield* store.save(doc(1))
        yield* store.save(doc(2))
      })
      yield* program.pipe(Effect.provide(CensusStoreFs.layerConfig), Effect.withConfigProvider(provider))
      expect(yield* Effect.promise(() => fs.readdir(dir))).toHaveLength(1)
      const bad = ConfigProvider.fromMap(new Map([["MCP_CENSUS_DIR", dir], ["MCP_CENSUS_RETENTION", "0"]]))
      const failed = yield* Effect.flip(program.pipe(Effect.provide(CensusStoreFs.layerConfig), Effect.withConfigProvider(bad)))
      expect(String(failed)).toContain("MCP_CENSUS_RETENTION")
    })
  )

  it.effect("layerTest keeps snapshots in memory with the same naming and retention", () =>
    Effect.gen(function* () {
      const store = yield* CensusStore
      const a = yield* store.save(doc(1))
      const b = yield* store.save(doc(2))
      expect(a).not.toBe(b)
      const latest = yield* store.loadLatest(1)
      expect(Option.map(latest, (s) => s.doc["snapshotId"])).toEqual(Option.some(b))
    }).pipe(Effect.provide(CensusStoreFs.layerTest(1)))
  )
})
