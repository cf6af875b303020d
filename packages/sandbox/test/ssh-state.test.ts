/**
 * Shared state (sandbox.md §6, each line a test): the API and SSH see one state. API calls go through
 * the sandbox's API core (`sb.handle`, the same pipeline the HTTPS listener runs); SSH goes over a real
 * socket.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { ROOT_CALLER } from "../src/api/ApiCore.js"
import * as Sandbox from "../src/Sandbox.js"
import { connected, exec } from "./ssh-support.js"

const sandbox = () =>
  Effect.gen(function* () {
    const sb = yield* Sandbox.make({ seed: 5, timeScale: 0.001, authFailureDelay: 0 })
    const ssh = sb.ssh!
    const conn = yield* connected({ host: ssh.host, port: ssh.port, privateKey: Redacted.value(ssh.privateKey) })
    const run = (command: string) => Effect.promise(() => exec(conn.client, command))
    const api = (method: string, path: string, params: Record<string, string> = {}, token: Sandbox.SandboxToken | "root" = sb.tokens.operate) =>
      Effect.gen(function* () {
        const q = new URLSearchParams(params).toString()
        const query = method === "GET" || method === "DELETE"
        const res = yield* sb.handle(
          {
            method,
            url: `/api2/json${path}${query && q ? `?${q}` : ""}`,
            headers: {
              ...(token === "root" ? {} : { authorization: `PVEAPIToken=${token.id}=${Redacted.value(token.secret)}` }),
              ...(query ? {} : { "content-type": "application/x-www-form-urlencoded" })
            },
            ...(query || !q ? {} : { body: q })
          },
          token === "root" ? ROOT_CALLER : undefined
        )
        return { status: res.status, data: res.body ? (JSON.parse(res.body) as { data: unknown }).data : undefined }
      })
    return { sb, run, api }
  })

describe("one state behind API and SSH", () => {
  it.scopedLive("an API-started CT reads running in pct list after its task", () =>
    Effect.gen(function* () {
      const { sb, run, api } = yield* sandbox()
      const r = yield* api("POST", "/nodes/pve/lxc/102/status/start")
      expect(r.status).toBe(200)
      const upid = r.data as string
      expect(upid).toMatch(/^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzstart:102:mcp@pve!mcp-operate:$/)
      yield* sb.lab.awaitTask(upid)
      expect((yield* run("pct list")).stdout).toContain(`${"102".padEnd(10)} ${"running".padEnd(10)} ${"".padEnd(12)} ${"lab-alpine".padEnd(20)}\n`)
      expect((yield* run("pct status 102")).stdout).toBe("status: running\n")
    }))

  it.scopedLive("pct snapshot appears as a root@pam task in GET …/tasks", () =>
    Effect.gen(function* () {
      const { run, api } = yield* sandbox()
      expect((yield* run("pct snapshot 100 from-ssh")).code).toBe(0)
      const tasks = (yield* api("GET", "/nodes/pve/tasks", { typefilter: "vzsnapshot" }, "root")).data as Array<Record<string, unknown>>
      const t = tasks.find((x) => x["id"] === "100" && x["type"] === "vzsnapshot")
      expect(t).toMatchObject({ user: "root@pam", status: "OK" })
      expect(t!["tokenid"]).toBeUndefined()
      const snaps = (yield* api("GET", "/nodes/pve/lxc/100/snapshot", {}, "root")).data as Array<{ name: string }>
      expect(snaps.map((s) => s.name)).toContain("from-ssh")
    }))

  it.scopedLive("pushed and agent-written files read back through pct exec cat and file-read", () =>
    Effect.gen(function* () {
      const { run, api } = yield* sandbox()
      expect((yield* run("printf 'pushed\\n' > /tmp/p && pct push 100 /tmp/p /root/pushed")).code).toBe(0)
      expect((yield* run("pct exec 100 -- cat /root/pushed")).stdout).toBe("pushed\n")
      const w = yield* api("POST", "/nodes/pve/qemu/200/agent/file-write", { file: "/root/agent.txt", content: "via agent\n" }, "root")
      expect(w.status).toBe(200)
      const r = yield* run("pvesh get /nodes/pve/qemu/200/agent/file-read --file /root/agent.txt --output-format json")
      expect(JSON.parse(r.stdout)).toEqual({ "bytes-read": 10, content: "via agent\n" })
      const ssh = yield* run(`pvesh create /nodes/pve/qemu/200/agent/file-write --file /root/ssh.txt --content ${Buffer.from("via ssh\n").toString("base64")} --encode 0`)
      expect(ssh.code).toBe(0)
      const read = yield* api("GET", "/nodes/pve/qemu/200/agent/file-read", { file: "/root/ssh.txt" }, "root")
      expect(read.data).toMatchObject({ content: "via ssh\n", "bytes-read": 8 })
    }))

  it.scopedLive("a docker exec write changes the bind source; rollback restores files pct exec sees", () =>
    Effect.gen(function* () {
      const { run } = yield* sandbox()
      expect((yield* run("pct exec 101 -- docker exec radarr sh -c 'echo edited > /config/config.xml'")).code).toBe(0)
      expect((yield* run("pct exec 101 -- cat /opt/stacks/media/radarr/config.xml")).stdout).toBe("edited\n")
      yield* run("pct exec 100 -- sh -c 'echo v1 > /etc/app.conf'")
      expect((yield* run("pct snapshot 100 keep")).code).toBe(0)
      yield* run("pct exec 100 -- sh -c 'echo v2 > /etc/app.conf'")
      expect((yield* run("pct rollback 100 keep --start 1")).code).toBe(0)
      expect((yield* run("pct exec 100 -- cat /etc/app.conf")).stdout).toBe("v1\n")
    }))

  it.scopedLive("a vzdump archive appears in …/content and pvesm list", () =>
    Effect.gen(function* () {
      const { sb, run, api } = yield* sandbox()
      const r = yield* api("POST", "/nodes/pve/vzdump", { vmid: "100", storage: "backups", mode: "snapshot", compress: "zstd" }, "root")
      expect(r.status).toBe(200)
      yield* sb.lab.awaitTask(r.data as string)
      const content = (yield* api("GET", "/nodes/pve/storage/backups/content", { content: "backup" }, "root")).data as Array<{ volid: string }>
      const volid = content.map((c) => c.volid).find((v) => v.includes("vzdump-lxc-100-"))
      expect(volid).toBeDefined()
      expect((yield* run("pvesm list backups --content backup")).stdout).toContain(volid!)
    }))

  it.scopedLive("pveum acl modify changes the next API decision", () =>
    Effect.gen(function* () {
      const { sb, run, api } = yield* sandbox()
      const bare = sb.testTokens.bare
      expect((yield* api("GET", "/nodes/pve/status", {}, bare)).status).toBe(403)
      const [user, tokenName] = bare.id.split("!")
      expect((yield* run(`pveum acl modify / --users ${user} --roles PVEAuditor`)).code).toBe(0)
      expect((yield* run(`pveum acl modify / --tokens '${user}!${tokenName}' --roles PVEAuditor`)).code).toBe(0)
      expect((yield* api("GET", "/nodes/pve/status", {}, bare)).status).toBe(200)
      expect((yield* run(`pveum acl delete / --tokens '${user}!${tokenName}' --roles PVEAuditor`)).code).toBe(0)
      expect((yield* api("GET", "/nodes/pve/status", {}, bare)).status).toBe(403)
    }))

  it.scopedLive("an API-stopped guest shows stopped in pct list and pct exec refuses it", () =>
    Effect.gen(function* () {
      const { sb, run, api } = yield* sandbox()
      const r = yield* api("POST", "/nodes/pve/lxc/100/status/stop")
      yield* sb.lab.awaitTask(r.data as string)
      expect((yield* run("pct list")).stdout).toContain(`${"100".padEnd(10)} ${"stopped".padEnd(10)} `)
      expect(yield* run("pct exec 100 -- true")).toMatchObject({ stderr: "container '100' not running!\n", code: 255 })
    }))
})
