/**
 * The Sandbox handle and the CLI entry: startup budgets, tokens per tier, env(tier) order, the private
 * key file, layerTest, and `homelab-mcp sandbox` printing KEY=VALUE lines.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { existsSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { parseArgs, renderEnv, SandboxCliUsage, sandboxCommand } from "../src/cli/main.js"
import * as Sandbox from "../src/Sandbox.js"
import { request } from "./support/https.js"

describe("Sandbox.make", () => {
  it.live("starts the default lab well under a second, with all three tier tokens and the test principals", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const t0 = performance.now()
      const sb = yield* Sandbox.make({ authFailureDelay: 0 }).pipe(Scope.extend(scope))
      const elapsed = performance.now() - t0
      expect(elapsed).toBeLessThan(1000)
      expect(sb.api.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api2\/json$/)
      expect(sb.api.tls.sha256Colon).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
      expect(sb.api.tls.pin).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
      expect(Object.values(sb.tokens).map((t) => t.id)).toEqual(["mcp@pve!mcp-observe", "mcp@pve!mcp-operate", "mcp@pve!mcp-companion"])
      expect(sb.token.id).toBe("mcp@pve!mcp-companion")
      expect(Redacted.value(sb.tokens.operate.secret)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(String(sb.tokens.operate.secret)).not.toContain(Redacted.value(sb.tokens.operate.secret))
      // the product's identity exactly as setup leaves it
      expect(sb.lab.renderUserCfg()).toContain("acl:1:/:mcp@pve!mcp-operate:PVEAuditor,MCPOperate:")
      expect(sb.lab.renderUserCfg()).toContain("role:MCPOperate:Datastore.Audit,Sys.Audit,VM.Audit,VM.PowerMgmt:")
      // the served certificate is what the handle reports
      const r = yield* Effect.promise(() => request(sb.api.baseUrl, "GET", "/version", { token: { id: sb.token.id, secret: Redacted.value(sb.token.secret) } }))
      expect(r.fingerprint256).toBe(sb.api.tls.sha256Colon)
      // env(tier): ordered, SSH only from companion up
      expect(Object.keys(sb.env("observe"))).toEqual(["PVE_API_BASE_URL", "PVE_API_NODE", "PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET", "PVE_API_TLS_FINGERPRINT", "MCP_TIER"])
      const env = sb.env("companion")
      expect(Object.keys(env)).toEqual([
        "PVE_API_BASE_URL", "PVE_API_NODE", "PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET", "PVE_API_TLS_FINGERPRINT",
        "SSH_HOST", "SSH_PORT", "SSH_USER", "SSH_KEY_PATH", "SSH_HOST_KEY_FINGERPRINT", "MCP_TIER"
      ])
      expect(env).toMatchObject({ PVE_API_NODE: "pve", PVE_API_TOKEN_ID: "mcp@pve!mcp-companion", SSH_HOST: "127.0.0.1", SSH_USER: "root", MCP_TIER: "companion" })
      expect(env["SSH_HOST_KEY_FINGERPRINT"]).toMatch(/^SHA256:/)
      // the key file is private and goes away with the scope
      const keyPath = env["SSH_KEY_PATH"]!
      expect(statSync(keyPath).mode & 0o777).toBe(0o600)
      expect(statSync(dirname(keyPath)).mode & 0o777).toBe(0o700)
      yield* Scope.close(scope, Exit.void)
      expect(existsSync(dirname(keyPath))).toBe(false)
    })
  )

  it.live("starts a 500-guest lab in under three seconds", () =>
    Effect.gen(function* () {
      const t0 = performance.now()
      const sb = yield* Sandbox.make({ guests: 500, seed: 3, authFailureDelay: 0 })
      expect(performance.now() - t0).toBeLessThan(3000)
      expect(sb.lab.guests.size).toBe(500)
      const t1 = performance.now()
      const res = yield* sb.handle({ method: "GET", url: "/api2/json/cluster/resources", headers: { authorization: `PVEAPIToken=${sb.token.id}=${Redacted.value(sb.token.secret)}` } })
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body).data.length).toBeGreaterThan(500)
      expect(performance.now() - t1).toBeLessThan(500)
    }).pipe(Effect.scoped)
  )

  it.live("state exports are reproducible from the seed", () =>
    Effect.gen(function* () {
      const a = yield* Sandbox.make({ guests: 120, seed: 9, ssh: false, clock: "manual" })
      const b = yield* Sandbox.make({ guests: 120, seed: 9, ssh: false, clock: "manual" })
      expect(a.control.exportState()).toBe(b.control.exportState())
    }).pipe(Effect.scoped)
  )

  it.live("control.provision re-runs setup for a tier and events stream live", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, ssh: false, unprovisioned: true })
      expect(sb.lab.users.has("mcp@pve")).toBe(false)
      const t = sb.control.provision("operate")
      expect(t.id).toBe("mcp@pve!mcp-operate")
      const r = yield* sb.handle({ method: "GET", url: "/api2/json/nodes/pve/lxc", headers: { authorization: `PVEAPIToken=${t.id}=${Redacted.value(t.secret)}` } })
      expect(r.status).toBe(200)
      expect(sb.control.events().some((e) => e.kind === "api" && e.principal === "mcp@pve!mcp-operate")).toBe(true)
    }).pipe(Effect.scoped)
  )
})

describe("events", () => {
  it.live("eventStream delivers API calls as they happen", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, ssh: false })
      const fiber = yield* Effect.fork(Stream.runCollect(Stream.take(Stream.filter(sb.control.eventStream, (e) => e.kind === "api"), 2)))
      yield* Effect.sleep("10 millis")
      const headers = { authorization: `PVEAPIToken=${sb.token.id}=${Redacted.value(sb.token.secret)}` }
      yield* sb.handle({ method: "GET", url: "/api2/json/version", headers })
      yield* sb.handle({ method: "GET", url: "/api2/json/nodes/pve/syslog", headers })
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(events.map((e) => [e.path, e.status])).toEqual([["/api2/json/version", 200], ["/api2/json/nodes/pve/syslog", 403]])
    }).pipe(Effect.scoped)
  )
})

describe("layerTest", () => {
  it.live("provides a default lab with no 401 delay and a fast clock", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.Sandbox
      expect(sb.lab.timeScale).toBe(0.01)
      expect(sb.lab.flags.authFailureDelay).toBe(0)
      expect([...sb.lab.guests.keys()].sort((a, b) => a - b)).toEqual([100, 101, 102, 200, 201, 9000, 9001])
    }).pipe(Effect.provide(Sandbox.layerTest()))
  )
})

describe("CLI", () => {
  it("parses flags and refuses bad values naming the flag", () => {
    expect(parseArgs(["--tier", "operate", "--guests", "50", "--seed", "7"])).toMatchObject({ tier: "operate", guests: 50, seed: 7, format: "env" })
    expect(parseArgs(["--lab=generate:20", "--faults", "flaky,lan"])).toMatchObject({ guests: 20, faults: ["flaky", "lan"] })
    expect((parseArgs(["--tier", "root"]) as SandboxCliUsage).message).toMatch(/^--tier: 'root' is not a tier/)
    expect((parseArgs(["--guests", "501"]) as SandboxCliUsage).message).toMatch(/^--guests: '501' is not accepted/)
    expect((parseArgs(["--faults", "chaos"]) as SandboxCliUsage).message).toMatch(/^--faults: 'chaos' is not a preset/)
    expect((parseArgs(["--seed"]) as SandboxCliUsage).message).toMatch(/^--seed needs a value/)
    expect((parseArgs(["--frobnicate"]) as SandboxCliUsage).message).toMatch(/^unknown option '--frobnicate'/)
    expect(renderEnv({ A: "1", B: "x=y" }, "env")).toBe("A=1\nB=x=y\n")
  })

  it.live("sandbox --tier operate prints the tier's KEY=VALUE lines and keeps serving", () =>
    Effect.gen(function* () {
      let out = ""
      let log = ""
      const parsed = parseArgs(["--tier", "operate", "--seed", "2", "--auth-failure-delay", "0"])
      if (parsed instanceof SandboxCliUsage) throw new Error(parsed.message)
      const sb = yield* sandboxCommand(parsed, { out: (t) => void (out += t), log: (t) => void (log += t) })
      const lines = out.trimEnd().split("\n")
      expect(lines.map((l) => l.slice(0, l.indexOf("=")))).toEqual(["PVE_API_BASE_URL", "PVE_API_NODE", "PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET", "PVE_API_TLS_FINGERPRINT", "MCP_TIER"])
      expect(lines).toContain("PVE_API_TOKEN_ID=mcp@pve!mcp-operate")
      expect(lines).toContain(`PVE_API_TLS_FINGERPRINT=${sb.api.tls.pin}`)
      expect(log).toMatch(/secrets printed are fake/)
      const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))
      const r = yield* Effect.promise(() => request(env["PVE_API_BASE_URL"]!, "GET", "/nodes", { token: { id: env["PVE_API_TOKEN_ID"]!, secret: env["PVE_API_TOKEN_SECRET"]! } }))
      expect(r.status).toBe(200)
    }).pipe(Effect.scoped)
  )
})
