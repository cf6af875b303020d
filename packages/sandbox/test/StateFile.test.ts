/** exportState / importState and `--state FILE`: a saved lab resumes with the same guests, snapshots, tasks and identities. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs, SandboxCliUsage, sandboxCommand } from "../src/cli/main.js"
import { buildLab } from "../src/lab/Lab.js"
import { LabState } from "../src/state/LabState.js"
import * as Sandbox from "../src/Sandbox.js"
import { call } from "./support/api.js"

describe("state export and import", () => {
  it("round-trips byte for byte after operations", () => {
    const lab = buildLab({ seed: 4, guests: 40, clock: "manual" })
    Either.getOrThrow(lab.createSnapshot(lab.listGuests()[0]!.vmid, "kept"))
    Either.getOrThrow(lab.addRole("Watcher", ["VM.Audit"]))
    lab.advance(30)
    const text = lab.exportState()
    const again = Either.getOrThrow(LabState.importState(text, { clock: "manual" }))
    expect(again.exportState()).toBe(text)
    expect(again.getGuest(lab.listGuests()[0]!.vmid)?.snapshots.has("kept")).toBe(true)
    expect(again.permissions("mcp@pve!mcp-operate", "/vms/100").has("VM.PowerMgmt")).toBe(true)
    expect(Either.isLeft(LabState.importState("{}"))).toBe(true)
    expect(Either.getLeft(LabState.importState("nope")).pipe((o) => o._tag === "Some" && o.value.message)).toBe("state file is not JSON; pass a file written by exportState / --state")
  })

  it.live("--state FILE resumes a lab and saves it on exit", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "sandbox-state-"))
      const file = join(dir, "lab.json")
      const parsed = parseArgs(["--tier", "operate", "--state", file, "--auth-failure-delay", "0", "--time-scale", "0.001"])
      if (parsed instanceof SandboxCliUsage) throw new Error(parsed.message)
      const quiet = { out: () => undefined, log: () => undefined }
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sb = yield* sandboxCommand(parsed, quiet)
          const upid = (yield* call(sb, sb.tokens.operate, "POST", "/nodes/pve/lxc/9001/status/start")).json.data as string
          yield* sb.lab.awaitTask(upid)
        })
      )
      expect(existsSync(file)).toBe(true)
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const secret = (JSON.parse(readFileSync(file, "utf8")) as { access: { tokens: Array<{ tokenid: string; secret: string }> } }).access.tokens.find((t) => t.tokenid === "mcp-operate")!.secret
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sb = yield* sandboxCommand(parsed, quiet)
          expect(sb.lab.getGuest(9001)?.status).toBe("running")
          expect(Redacted.value(sb.tokens.operate.secret)).toBe(secret)
          const tasks = (yield* call(sb, sb.tokens.operate, "GET", "/nodes/pve/tasks", { typefilter: "vzstart" })).json.data
          expect(tasks[0]).toMatchObject({ id: "9001", status: "OK", tokenid: "mcp-operate" })
        })
      )
      rmSync(dir, { recursive: true, force: true })
    })
  )

  it.live("a corrupt state file stops the sandbox with a clear message", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.scoped(Sandbox.make({ state: "{\"format\":\"other\"}", ssh: false })))
      expect(exit._tag).toBe("Failure")
      expect(String(exit._tag === "Failure" ? exit.cause : "")).toContain("homelab-mcp-sandbox-state/1")
    })
  )
})
