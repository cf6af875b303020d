import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Settings from "../src/Settings.js"

const load = (env: Record<string, string>) =>
  Settings.load.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))), Effect.either)

describe("Settings", () => {
  it.effect("defaults: observe, elicitation on, 300 s", () =>
    Effect.gen(function* () {
      const r = yield* load({})
      expect(Either.getOrThrow(r)).toMatchObject({ tier: "observe", notes: [], elicit: true, elicitTimeoutMs: 300000 })
    }))

  it.effect("root only with companion and the exact acknowledgment; other flag values are ignored with a note", () =>
    Effect.gen(function* () {
      const ack = "I-understand-Claude-gets-root-and-can-break-this-node"
      expect(Either.getOrThrow(yield* load({ MCP_TIER: "companion", MCP_HOST_ROOT_ENABLED: ack })).tier).toBe("root")
      const ignored = Either.getOrThrow(yield* load({ MCP_TIER: "companion", MCP_HOST_ROOT_ENABLED: "true" }))
      expect(ignored.tier).toBe("companion")
      expect(ignored.notes[0]).toContain("ignored")
      const below = yield* load({ MCP_TIER: "operate", MCP_HOST_ROOT_ENABLED: ack })
      expect(Either.isLeft(below) && Settings.formatConfigError(below.left)).toMatch(/^MCP_HOST_ROOT_ENABLED: .*companion/)
    }))

  it.effect("a malformed value fails with one line naming the variable and the expected form", () =>
    Effect.gen(function* () {
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ MCP_TIER: "root" }, /^MCP_TIER: MCP_TIER=root is not accepted/],
        [{ MCP_TIER: "admin" }, /^MCP_TIER: .*expected one of observe, operate, companion$/],
        [{ MCP_CONFIRM_ELICIT: "maybe" }, /^MCP_CONFIRM_ELICIT: expected true or false, got "maybe"$/],
        [{ MCP_CONFIRM_ELICIT_TIMEOUT_MS: "5s" }, /^MCP_CONFIRM_ELICIT_TIMEOUT_MS: expected an integer 1000\.\.3600000, got "5s"$/],
        [{ MCP_LOG_LEVEL: "loud" }, /^MCP_LOG_LEVEL: expected one of error, warn, info, debug/]
      ]
      for (const [env, pattern] of cases) {
        const r = yield* load(env)
        expect(Either.isLeft(r), JSON.stringify(env)).toBe(true)
        if (Either.isLeft(r)) {
          const line = Settings.formatConfigError(r.left)
          expect(line).toMatch(pattern)
          expect(line).not.toContain("\n")
        }
      }
    }))
})
