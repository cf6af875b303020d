/**
 * API and CLI see one state (sandbox.md §6): what the API does shows in `pct`/`qm`, what the CLI does
 * shows in the API, and files written through the guest agent read back in the guest.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Sandbox from "../src/Sandbox.js"
import { call } from "./support/api.js"

const host = (sb: Sandbox.SandboxHandle, command: string) => Effect.promise(() => sb.lab.machines!.get("host")!.exec(command))

describe("one state for API and CLI", () => {
  it.scopedLive("an API-started CT reads running in pct list after its task", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false })
      const upid = (yield* call(sb, sb.tokens.operate, "POST", "/nodes/pve/lxc/9001/status/start")).json.data as string
      yield* sb.lab.awaitTask(upid)
      const out = yield* host(sb, "pct list")
      expect(out.exitCode).toBe(0)
      expect(out.stdout).toMatch(/^9001\s+running\s+scratch-ct/m)
      expect((yield* host(sb, "pct status 9001")).stdout).toBe("status: running\n")
    })
  )

  it.scopedLive("pct snapshot appears as a root@pam task in GET …/tasks and in the snapshot list", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false })
      const out = yield* host(sb, "pct snapshot 100 from-cli --description 'made by pct'")
      expect(out.exitCode).toBe(0)
      const tasks = (yield* call(sb, sb.tokens.operate, "GET", "/nodes/pve/tasks", { typefilter: "vzsnapshot" })).json.data
      expect(tasks[0]).toMatchObject({ type: "vzsnapshot", id: "100", user: "root@pam", status: "OK" })
      expect(tasks[0].upid).toMatch(/:vzsnapshot:100:root@pam:$/)
      const snaps = (yield* call(sb, sb.tokens.operate, "GET", "/nodes/pve/lxc/100/snapshot")).json.data
      expect(snaps.find((s: { name: string }) => s.name === "from-cli")).toMatchObject({ description: "made by pct", parent: "post-upgrade" })
    })
  )

  it.scopedLive("a file written through the agent API reads back in the VM's shell and vice versa", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false })
      Either.getOrThrow(sb.lab.addUser("admin@pve"))
      Either.getOrThrow(sb.lab.modifyAcl("/", { users: ["admin@pve"] }, ["Administrator"], 1))
      const R = { id: "admin@pve!tok", secret: Redacted.make(Either.getOrThrow(sb.lab.addToken("admin@pve", "tok", { privsep: 0 })).secret) }
      expect((yield* call(sb, R, "POST", "/nodes/pve/qemu/200/agent/file-write", { file: "/etc/motd", content: "agent was here\n" })).status).toBe(200)
      const vm = sb.lab.machines!.get(200)!
      expect((yield* Effect.promise(() => vm.exec("cat /etc/motd"))).stdout).toBe("agent was here\n")
      yield* Effect.promise(() => vm.exec("echo from-shell > /root/note.txt"))
      const read = yield* call(sb, R, "GET", "/nodes/pve/qemu/200/agent/file-read", { file: "/root/note.txt" })
      expect(read.json.data).toEqual({ content: "from-shell\n", "bytes-read": 11 })
      const missing = yield* call(sb, R, "GET", "/nodes/pve/qemu/200/agent/file-read", { file: "/nope" })
      expect(missing.reason).toBe("Agent error: failed to open file '/nope' (mode: 'r'): No such file or directory")
    })
  )
})
