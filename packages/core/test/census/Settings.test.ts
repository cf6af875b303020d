import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Settings from "@homelab-mcp/core/census/Settings"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("census and health settings", () => {
  it.effect("defaults follow tiers-setup.md §3", () =>
    Effect.gen(function* () {
      expect(yield* Settings.censusConfig.pipe(withEnv({}))).toEqual(Settings.censusDefaults)
      expect(yield* Settings.healthConfig.pipe(withEnv({}))).toEqual(Settings.healthDefaults)
    })
  )
  it.effect("values are read from the documented variables; lists are comma-separated", () =>
    Effect.gen(function* () {
      const c = yield* Settings.censusConfig.pipe(
        withEnv({ MCP_CENSUS_MAX_ITEMS: "5", MCP_CENSUS_STORAGE_DRIFT_PCT: "2.5", MCP_REDACTION_EXTRA_KEYS: "admin, webhook" })
      )
      expect(c.maxItems).toBe(5)
      expect(c.storageDriftPct).toBe(2.5)
      expect(c.redactionExtraKeys).toEqual(["admin", "webhook"])
      const h = yield* Settings.healthConfig.pipe(withEnv({ MCP_HEALTH_FAILED_UNITS_CRIT: "pveproxy,zfs-zed", MCP_HEALTH_MEM_WARN_PCT: "70" }))
      expect(h.failedUnitsCrit).toEqual(["pveproxy", "zfs-zed"])
      expect(h.memWarnPct).toBe(70)
    })
  )
  it.effect("a bad value fails naming the variable and the accepted range", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(Settings.censusConfig.pipe(withEnv({ MCP_CENSUS_MAX_RESPONSE_BYTES: "100" })))
      expect(String(e)).toContain('MCP_CENSUS_MAX_RESPONSE_BYTES: "expected an integer 4096..1073741824, got "100""')
      const w = yield* Effect.flip(Settings.healthConfig.pipe(withEnv({ MCP_HEALTH_FS_WARN_PCT: "95" })))
      expect(String(w)).toContain("MCP_HEALTH_FS_WARN_PCT must not exceed MCP_HEALTH_FS_CRIT_PCT")
      const n = yield* Effect.flip(Settings.censusConfig.pipe(withEnv({ MCP_CENSUS_RETENTION: "many" })))
      expect(String(n)).toContain("MCP_CENSUS_RETENTION")
    })
  )
})
