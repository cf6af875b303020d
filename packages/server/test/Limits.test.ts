import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as CensusSettings from "@homelab-mcp/core/census/Settings"
import * as Limits from "../src/Limits.js"

const read = <A, E>(self: Effect.Effect<A, E>, env: Record<string, string>) =>
  self.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))), Effect.either)

describe("Limits.config", () => {
  it.effect("defaults are the documented ones", () =>
    Effect.gen(function* () {
      const l = yield* read(Limits.config, {})
      expect(Either.getOrThrow(l)).toEqual(Limits.defaults)
    }))

  it.effect("MCP_REDACTION_EXTRA_KEYS reads the same for file reads as for the census (',' or ';')", () =>
    Effect.gen(function* () {
      const env = { MCP_REDACTION_EXTRA_KEYS: " vault_unseal; webhook ,admin;" }
      const limits = Either.getOrThrow(yield* read(Limits.config, env))
      const census = Either.getOrThrow(yield* read(CensusSettings.censusConfig, env))
      expect(limits.redactionExtraKeys).toEqual(["vault_unseal", "webhook", "admin"])
      expect(census.redactionExtraKeys).toEqual(limits.redactionExtraKeys)
    }))

  it.effect("modes, path lists and the timeout pair are checked, naming the variable", () =>
    Effect.gen(function* () {
      const ok = Either.getOrThrow(yield* read(Limits.config, { MCP_CONTAINER_NEW_FILE_MODE: "0600", MCP_GUEST_PATH_DENYLIST: "/proc, /secret" }))
      expect(ok.containerNewFileMode).toBe("600")
      expect(ok.guestPathDeny).toEqual(["/proc", "/secret"])
      const cases: Array<[Record<string, string>, string]> = [
        [{ MCP_CONTAINER_NEW_FILE_MODE: "rw-r--r--" }, 'MCP_CONTAINER_NEW_FILE_MODE: "expected an octal mode like 0644, got "rw-r--r--""'],
        [{ MCP_GUEST_PATH_DENYLIST: "/proc,etc" }, 'MCP_GUEST_PATH_DENYLIST: "expected comma-separated absolute paths, got "etc""'],
        [{ MCP_EXEC_DEFAULT_TIMEOUT_MS: "90000", MCP_EXEC_MAX_TIMEOUT_MS: "60000" }, "MCP_EXEC_DEFAULT_TIMEOUT_MS"],
        [{ MCP_BREAKER_ENABLED: "perhaps" }, 'MCP_BREAKER_ENABLED: "expected true or false, got "perhaps""']
      ]
      for (const [env, text] of cases) {
        const r = yield* read(Limits.config, env)
        expect(Either.isLeft(r) && String(r.left)).toContain(text)
      }
      expect(Either.getOrThrow(yield* read(Limits.config, { MCP_BREAKER_ENABLED: "off" })).breakerEnabled).toBe(false)
    }))
})
